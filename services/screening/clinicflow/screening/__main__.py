"""Run the screening service: ``python -m clinicflow.screening`` (or ``clinicflow-screening``)."""

from clinicflow.screening.app import create_app
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.shared.runtime import serve


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    settings = ScreeningSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
