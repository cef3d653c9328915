"""Wiring of the screening service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.screening.settings import ScreeningSettings
from clinicflow.shared.database import migrations_in
from clinicflow.shared.runtime import ServiceDefinition, build_app


def create_app(settings: ScreeningSettings) -> FastAPI:
    """The screening service's ASGI app."""
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations_in("screening", resources.files("clinicflow.screening") / "migrations"),
        description="Screening cases, validated measures, contraindications and the doctor's sign-off.",
    )
    return build_app(definition)
