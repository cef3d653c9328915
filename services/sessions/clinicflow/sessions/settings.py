"""Settings of the sessions service (environment prefix ``SESSIONS_``)."""

from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class SessionsSettings(ServiceSettings):
    """What the sessions service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SESSIONS_")

    service_name: str = "sessions"
    http_port: int = 8003
    db_schema: str = "sessions"
