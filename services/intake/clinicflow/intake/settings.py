"""Settings of the intake service (environment prefix ``INTAKE_``)."""

from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """What the intake service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    service_name: str = "intake"
    http_port: int = 8001
    db_schema: str = "intake"
