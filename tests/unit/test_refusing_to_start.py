"""Each service refuses to start on an unsafe rule file: building the app fails before anything is connected, with
an error that names the file, the field and the rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicflow.notifications.app import create_app as create_notifications
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.screening.app import create_app as create_screening
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.sessions.app import create_app as create_sessions
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.rulefiles import RuleFileError
from clinicflow.shared.settings import AuthSettings

SERVICES = Path(__file__).resolve().parents[2] / "services"
AUTH = AuthSettings(jwt_secret="unit-test-secret-that-is-long-enough-0123")


def unsafe_copy(tmp_path: Path, packaged: str, change) -> str:  # noqa: ANN001
    raw = json.loads((SERVICES / packaged).read_text())
    change(raw)
    path = tmp_path / Path(packaged).name
    path.write_text(json.dumps(raw))
    return str(path)


def test_screening_refuses_an_item9_threshold_of_2(tmp_path):
    rules = unsafe_copy(tmp_path, "screening/clinicflow/screening/rulefiles/default.json",
                        lambda r: r.update(phq9_item9_alert_threshold=2))
    with pytest.raises(RuleFileError, match=rf"{rules}.*phq9_item9_alert_threshold: must be 1"):
        create_screening(ScreeningSettings(rules_file=rules, auth=AUTH))


def test_sessions_refuses_an_alarm_limit_looser_than_published(tmp_path):
    rules = unsafe_copy(tmp_path, "sessions/clinicflow/sessions/rulefiles/default.json",
                        lambda r: r["vitals_alert"].update(spo2_below=85))
    with pytest.raises(RuleFileError, match=rf"{rules}.*vitals_alert.spo2_below: must be at least 92"):
        create_sessions(SessionsSettings(rules_file=rules, auth=AUTH))


def test_notifications_refuses_an_on_call_typo(tmp_path):
    directory = unsafe_copy(tmp_path, "notifications/clinicflow/notifications/config/directory.json",
                            lambda d: d["on_call"].update(doctor=["dr-l"]))
    with pytest.raises(RuleFileError, match=rf"{directory}.*on_call.doctor: 'dr-l' is not a member of staff"):
        create_notifications(NotificationsSettings(directory_file=directory, auth=AUTH))


@pytest.mark.parametrize("key", [
    "change-me-to-32-random-bytes",  # .env.example's placeholder
    "short-but-random-Zq8",
    "replace-this-with-a-real-key-of-at-least-32-bytes",
])
def test_every_service_refuses_a_short_or_placeholder_signing_key(key):
    with pytest.raises(ValueError, match="AUTH_JWT_SECRET"):
        AuthSettings(jwt_secret=key)
    with pytest.raises(ValueError, match="NOTIFICATIONS_ACK_LINK_SECRET"):
        NotificationsSettings(auth=AUTH, ack_link_secret=key)
    assert AuthSettings(jwt_secret="Zq8" * 11).jwt_secret is not None  # 33 random-looking bytes pass


@pytest.mark.parametrize(("settings", "refused"), [
    ({"smtp_host": "mail.clinic.example", "smtp_username": "alerts", "smtp_password": "pw"}, "SMTP credentials"),
    ({"chat_webhook_url": "http://chat.clinic.example/hook"}, "CHAT_WEBHOOK_URL must be https"),
    ({"sms_gateway_url": "http://sms.example/send"}, "SMS_GATEWAY_URL must be https"),
    ({"ack_link_base_url": "http://alerts.clinic.example"}, "ACK_LINK_BASE_URL must be https"),
])
def test_notifications_refuses_to_send_credentials_or_alerts_in_clear(settings, refused):
    with pytest.raises(ValueError, match=refused):
        NotificationsSettings(auth=AUTH, **settings)


def test_notifications_allows_tls_and_plain_http_on_this_host():
    NotificationsSettings(auth=AUTH, smtp_host="mail.clinic.example", smtp_username="alerts", smtp_starttls=True,
                          chat_webhook_url="https://chat.clinic.example/hook",
                          sms_gateway_url="http://127.0.0.1:9000/send", ack_link_base_url="http://localhost:8004")
