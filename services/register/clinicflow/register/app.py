"""Wiring of the register service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.register.api import build_router
from clinicflow.register.handlers import build_handlers
from clinicflow.register.rules import load_rules
from clinicflow.register.settings import RegisterSettings
from clinicflow.register.watch import wastage_watch
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.runtime import Clock, ServiceDefinition, build_app, utc_now


def migrations() -> list[Migration]:
    """The register schema's own migrations (the platform's come first)."""
    return migrations_in("register", resources.files("clinicflow.register") / "migrations")


def create_app(settings: RegisterSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The register service's ASGI app."""
    rules = load_rules(settings.rules_file)
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations(),
        routers=[build_router(rules)],
        handlers=build_handlers(rules, clock),
        background=[wastage_watch(rules, poll_seconds=settings.watch_poll_seconds)],
        description="The controlled-drugs register: stock, receipts, administrations from dose events, wastage, "
                    "stock checks, discrepancies and the inspector's reports.",
    )
    return build_app(definition, clock=clock)
