"""Wiring of the intake service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.intake.settings import IntakeSettings
from clinicflow.shared.database import migrations_in
from clinicflow.shared.runtime import ServiceDefinition, build_app


def create_app(settings: IntakeSettings) -> FastAPI:
    """The intake service's ASGI app."""
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations_in("intake", resources.files("clinicflow.intake") / "migrations"),
        description="Enquiries, identifiable details, call-backs, funding, assessment booking and erasure.",
    )
    return build_app(definition)
