"""Run the notifications service: ``python -m clinicflow.notifications`` (or ``clinicflow-notifications``)."""

from clinicflow.notifications.app import create_app
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.runtime import serve


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    settings = NotificationsSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
