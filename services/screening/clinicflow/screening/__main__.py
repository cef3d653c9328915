"""Run the screening service: ``python -m clinicflow.screening [serve|migrate]`` (or ``clinicflow-screening``)."""

import sys

from clinicflow.screening.app import create_app, migrations
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.shared.runtime import service_main


def main() -> None:
    """Read settings from the environment; serve until stopped, or migrate the schema and exit."""
    service_main(sys.argv[1:], settings_class=ScreeningSettings, create_app=create_app, migrations=migrations)


if __name__ == "__main__":
    main()
