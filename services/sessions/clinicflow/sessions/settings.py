"""Settings of the sessions service (environment prefix ``SESSIONS_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class SessionsSettings(ServiceSettings):
    """What the sessions service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SESSIONS_")

    service_name: str = "sessions"
    http_port: int = 8003
    db_schema: str = "sessions"
    rules_file: str | None = Field(None, description="The clinic's rule file; the packaged defaults when unset.")
    scheduler_poll_seconds: float = Field(5.0, gt=0, description="How often the integration scheduler looks.")
