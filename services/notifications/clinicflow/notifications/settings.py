"""Settings of the notifications service (environment prefix ``NOTIFICATIONS_``)."""

from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """What the notifications service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    service_name: str = "notifications"
    http_port: int = 8004
    db_schema: str = "notifications"
