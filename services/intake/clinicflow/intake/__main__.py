"""Run the intake service: ``python -m clinicflow.intake`` (or ``clinicflow-intake``)."""

from clinicflow.intake.app import create_app
from clinicflow.intake.settings import IntakeSettings
from clinicflow.shared.runtime import serve


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    settings = IntakeSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
