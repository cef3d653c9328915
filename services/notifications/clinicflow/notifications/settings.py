"""Settings of the notifications service (environment prefix ``NOTIFICATIONS_``)."""

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from clinicflow.shared.settings import ServiceSettings, strong_key


class NotificationsSettings(ServiceSettings):
    """What the notifications service reads from its environment. A channel without settings is off."""

    # An empty variable is an unset one: compose passes every optional channel, empty when it is off.
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_ignore_empty=True)

    service_name: str = "notifications"
    http_port: int = 8004
    db_schema: str = "notifications"
    routing_file: str | None = Field(None, description="Routing rules; the packaged defaults when unset.")
    directory_file: str | None = Field(None,
                                       description="Staff directory and on-call rota; synthetic staff when unset.")
    staff_portal_url: str = "http://127.0.0.1:8080/staff"
    dispatcher_poll_seconds: float = Field(0.2, gt=0, description="How often idle workers look for due deliveries.")
    retry_first_seconds: float = Field(2.0, gt=0, description="First retry wait; doubles with jitter each attempt.")
    retry_cap_seconds: float = Field(300.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_implicit_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    email_from: str = "clinicflow@clinic.example"
    chat_webhook_url: str | None = None
    chat_webhook_secret: SecretStr | None = None
    sms_gateway_url: str | None = None
    sms_gateway_secret: SecretStr | None = None
    send_lease_seconds: float = Field(60.0, gt=10, description="A claimed delivery is due again after this if its "
                                      "outcome was never recorded (longer than any channel's timeout).")
    ack_link_secret: SecretStr | None = Field(None, description="Signs one-time acknowledgement links (32+ bytes).")
    ack_link_base_url: str = Field("http://127.0.0.1:8004", description="Where staff's phones reach `/ack/...`.")
    ack_link_valid_minutes: float = Field(720.0, gt=0, description="How long an acknowledgement link works.")

    @field_validator("ack_link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        return strong_key(value, what="NOTIFICATIONS_ACK_LINK_SECRET")

    @model_validator(mode="after")
    def _nothing_in_clear(self) -> "NotificationsSettings":
        # What leaves for a channel may be an urgent alert's link, and credentials: never in clear beyond this host.
        if self.smtp_username and not (self.smtp_starttls or self.smtp_implicit_tls):
            raise ValueError("SMTP credentials need NOTIFICATIONS_SMTP_STARTTLS or NOTIFICATIONS_SMTP_IMPLICIT_TLS")
        for name in ("chat_webhook_url", "sms_gateway_url", "ack_link_base_url"):
            url = getattr(self, name)
            if url and urlsplit(url).scheme != "https" and urlsplit(url).hostname not in LOOPBACK:
                raise ValueError(f"NOTIFICATIONS_{name.upper()} must be https (plain http only on this host)")
        return self


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
