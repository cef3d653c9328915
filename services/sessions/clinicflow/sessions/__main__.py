"""Run the sessions service: ``python -m clinicflow.sessions`` (or ``clinicflow-sessions``)."""

from clinicflow.sessions.app import create_app
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.runtime import serve


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    settings = SessionsSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
