"""Run the sessions service: ``python -m clinicflow.sessions [serve|migrate]`` (or ``clinicflow-sessions``)."""

import sys

from clinicflow.sessions.app import create_app, migrations
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.runtime import service_main


def main() -> None:
    """Read settings from the environment; serve until stopped, or migrate the schema and exit."""
    service_main(sys.argv[1:], settings_class=SessionsSettings, create_app=create_app, migrations=migrations)


if __name__ == "__main__":
    main()
