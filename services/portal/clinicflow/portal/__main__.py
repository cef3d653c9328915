"""Run the portal: ``python -m clinicflow.portal`` (or ``clinicflow-portal``), on port 8000 by default."""

import uvicorn

from clinicflow.portal.app import create_app
from clinicflow.portal.settings import PortalSettings


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    settings = PortalSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False)


if __name__ == "__main__":
    main()
