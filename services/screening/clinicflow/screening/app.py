"""Wiring of the screening service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.screening.api import build_router
from clinicflow.screening.handlers import build_handlers
from clinicflow.screening.rules import load_rules
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.shared.care_team import care_team_migrations
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.runtime import Clock, ServiceDefinition, build_app, utc_now


def migrations() -> list[Migration]:
    """The screening schema's own migrations (the platform's come first), and the care team's."""
    return [*migrations_in("screening", resources.files("clinicflow.screening") / "migrations"),
            *care_team_migrations()]


def create_app(settings: ScreeningSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The screening service's ASGI app."""
    rules = load_rules(settings.rules_file)
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations(),
        routers=[build_router(rules)],
        handlers=build_handlers(rules, clock),
        description="Screening cases, validated measures, contraindications and the doctor's sign-off.",
    )
    return build_app(definition, clock=clock)
