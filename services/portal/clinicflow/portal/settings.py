"""Settings of the portal (environment prefix ``PORTAL_``)."""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clinicflow.shared.settings import strong_key


class PortalSettings(BaseSettings):
    """Where the services are, how sessions are kept, and whether the development sign-in is on."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_")

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    intake_url: str = "http://127.0.0.1:8001"
    screening_url: str = "http://127.0.0.1:8002"
    sessions_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    register_url: str = "http://127.0.0.1:8005"
    session_secret: SecretStr = Field(description="Signs the session cookie (32+ random bytes).")
    idle_timeout_minutes: float = Field(30.0, gt=0, description="A session unused this long signs the person out.")
    cookie_secure: bool = Field(True, description="Send the cookie over https only (false only for local http).")
    dev_sign_in: bool = Field(False, description="Offer the development sign-in (synthetic staff, tokens minted "
                                                 "here): never in production, where the identity provider signs in.")
    staff_file: str | None = Field(None, description="The staff directory (the clinician picker, the development "
                                                     "sign-in); synthetic staff when unset.")
    clinic_time_zone: str = Field("Europe/London", description="Times typed into forms are in this zone.")
    alert_poll_seconds: float = Field(5.0, gt=0, description="How often open pages look for new urgent alerts.")

    @field_validator("session_secret")
    @classmethod
    def _strong(cls, value: SecretStr) -> SecretStr:
        return strong_key(value, what="PORTAL_SESSION_SECRET")
