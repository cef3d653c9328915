"""Wiring of the intake service: the one place its parts are put together."""

from datetime import timedelta
from importlib import resources

from fastapi import FastAPI

from clinicflow.intake.api import build_router
from clinicflow.intake.domain import CallbackPolicy
from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.handlers import build_handlers
from clinicflow.intake.rotation import reencryption
from clinicflow.intake.settings import IntakeSettings
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.runtime import Clock, ServiceDefinition, build_app, utc_now


def migrations() -> list[Migration]:
    """The intake schema's own migrations (the platform's come first)."""
    return migrations_in("intake", resources.files("clinicflow.intake") / "migrations")


def create_app(settings: IntakeSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The intake service's ASGI app."""
    cipher = FieldCipher.from_setting(settings.encryption_keys.get_secret_value())
    policy = CallbackPolicy(retry_after=tuple(timedelta(hours=h) for h in settings.callback_retry_hours))
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations(),
        routers=[build_router(cipher, policy)],
        handlers=build_handlers(cipher, clock),
        background=[reencryption(cipher)],
        description="Enquiries, identifiable details, call-backs, funding, assessment booking and erasure.",
    )
    return build_app(definition, clock=clock)
