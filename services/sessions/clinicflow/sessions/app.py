"""Wiring of the sessions service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.database import migrations_in
from clinicflow.shared.runtime import ServiceDefinition, build_app


def create_app(settings: SessionsSettings) -> FastAPI:
    """The sessions service's ASGI app."""
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations_in("sessions", resources.files("clinicflow.sessions") / "migrations"),
        description="Treatment courses, monitored dosing sessions, integration scheduling and progress.",
    )
    return build_app(definition)
