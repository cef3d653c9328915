"""Settings of the screening service (environment prefix ``SCREENING_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    """What the screening service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SCREENING_")

    service_name: str = "screening"
    http_port: int = 8002
    db_schema: str = "screening"
    rules_file: str | None = Field(None, description="The clinic's rule file; the packaged defaults when unset.")
