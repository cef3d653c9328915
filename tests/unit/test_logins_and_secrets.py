"""Least privilege in the settings: database TLS that verifies or none, a migrator that reads no service secret,
and optional channels that compose passes empty."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from clinicflow.intake.settings import IntakeSettings
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, MigrationSettings

DSN = "postgresql://clinicflow_intake:pw@db.clinic.example:5432/clinicflow"


@pytest.mark.parametrize("mode", ["allow", "prefer", "require", "verify-ca"])
@pytest.mark.parametrize("field", ["url", "migrator_url"])
def test_tls_that_does_not_verify_the_server_is_refused(field, mode):
    with pytest.raises(ValidationError, match="verify-full"):
        DatabaseSettings(**{field: f"{DSN}?sslmode={mode}"})


@pytest.mark.parametrize("query", ["", "?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem", "?sslmode=disable"])
def test_verified_tls_or_an_explicit_private_network_is_accepted(query):
    assert DatabaseSettings(url=DSN + query, migrator_url=DSN + query).url


def test_migrate_reads_the_schema_and_logins_without_any_service_secret(monkeypatch):
    for name in ("INTAKE_ENCRYPTION_KEYS", "AUTH_JWT_SECRET", "AUTH_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_MIGRATOR_URL", DSN)
    monkeypatch.setenv("DATABASE_RUNTIME_ROLE", "clinicflow_intake")
    with pytest.raises(ValidationError):
        IntakeSettings()  # a service cannot start like this...
    target = MigrationSettings.of(IntakeSettings)  # ...but its migration can
    assert (target.db_schema, target.database.runtime_role) == ("intake", "clinicflow_intake")
    monkeypatch.setenv("INTAKE_DB_SCHEMA", "intake; DROP SCHEMA screening")
    with pytest.raises(ValueError, match="schema names"):
        MigrationSettings.of(IntakeSettings)


def test_notifications_treats_an_empty_optional_channel_as_off(monkeypatch):
    for name in ("CHAT_WEBHOOK_URL", "CHAT_WEBHOOK_SECRET", "SMS_GATEWAY_URL", "ACK_LINK_SECRET"):
        monkeypatch.setenv(f"NOTIFICATIONS_{name}", "")
    settings = NotificationsSettings(auth=AuthSettings(jwt_secret="unit-test-secret-that-is-long-enough-0123"))
    assert (settings.chat_webhook_url, settings.sms_gateway_url, settings.ack_link_secret) == (None, None, None)
