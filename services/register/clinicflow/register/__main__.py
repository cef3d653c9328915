"""Run the register service: ``python -m clinicflow.register [serve|migrate]`` (or ``clinicflow-register``)."""

import sys

from clinicflow.register.app import create_app, migrations
from clinicflow.register.settings import RegisterSettings
from clinicflow.shared.runtime import service_main


def main() -> None:
    """Read settings from the environment; serve until stopped, or migrate the schema and exit."""
    service_main(sys.argv[1:], settings_class=RegisterSettings, create_app=create_app, migrations=migrations)


if __name__ == "__main__":
    main()
