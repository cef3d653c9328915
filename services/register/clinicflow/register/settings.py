"""Settings of the register service (environment prefix ``REGISTER_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class RegisterSettings(ServiceSettings):
    """What the register service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="REGISTER_")

    service_name: str = "register"
    http_port: int = 8005
    db_schema: str = "register"
    rules_file: str | None = Field(None, description="The clinic's register rules; the packaged defaults when unset.")
    watch_poll_seconds: float = Field(30.0, gt=0, description="How often unrecorded wastage is looked for.")
