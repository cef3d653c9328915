"""Settings of the intake service (environment prefix ``INTAKE_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """What the intake service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    service_name: str = "intake"
    http_port: int = 8001
    db_schema: str = "intake"
    encryption_keys: SecretStr = Field(
        description="`id:base64key[,id:base64key...]` (32-byte AES keys); the first encrypts, all decrypt."
    )
    callback_retry_hours: list[float] = Field(
        [4, 24, 48], description="Wait before each further call-back attempt; their count + 1 is the maximum."
    )
