"""Run the intake service: ``python -m clinicflow.intake [serve|migrate]`` (or ``clinicflow-intake``)."""

import sys

from clinicflow.intake.app import create_app, migrations
from clinicflow.intake.settings import IntakeSettings
from clinicflow.shared.runtime import service_main


def main() -> None:
    """Read settings from the environment; serve until stopped, or migrate the schema and exit."""
    service_main(sys.argv[1:], settings_class=IntakeSettings, create_app=create_app, migrations=migrations)


if __name__ == "__main__":
    main()
