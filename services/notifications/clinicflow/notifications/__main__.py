"""Run the notifications service: ``python -m clinicflow.notifications [serve|migrate]`` (or
``clinicflow-notifications``)."""

import sys

from clinicflow.notifications.app import create_app, migrations
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.runtime import service_main


def main() -> None:
    """Read settings from the environment; serve until stopped, or migrate the schema and exit."""
    service_main(sys.argv[1:], settings_class=NotificationsSettings, create_app=create_app, migrations=migrations)


if __name__ == "__main__":
    main()
