"""Wiring of the sessions service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.sessions.api import build_router
from clinicflow.sessions.handlers import build_handlers
from clinicflow.sessions.rules import load_rules
from clinicflow.sessions.scheduler import integration_scheduler
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.care_team import care_team_migrations
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.runtime import Clock, ServiceDefinition, build_app, utc_now


def migrations() -> list[Migration]:
    """The sessions schema's own migrations (the platform's come first), and the care team's."""
    return [*migrations_in("sessions", resources.files("clinicflow.sessions") / "migrations"),
            *care_team_migrations()]


def create_app(settings: SessionsSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The sessions service's ASGI app."""
    rules = load_rules(settings.rules_file)
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations(),
        routers=[build_router(rules)],
        handlers=build_handlers(rules, clock),
        urgent_events=frozenset({"screening.risk.flagged"}),  # a hold must beat the next dose
        background=[integration_scheduler(rules, poll_seconds=settings.scheduler_poll_seconds)],
        description="Treatment courses, monitored dosing sessions, integration scheduling and progress.",
    )
    return build_app(definition, clock=clock)
