"""Wiring of the notifications service: the one place its parts are put together."""

from importlib import resources

from fastapi import FastAPI

from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.database import migrations_in
from clinicflow.shared.runtime import ServiceDefinition, build_app


def create_app(settings: NotificationsSettings) -> FastAPI:
    """The notifications service's ASGI app."""
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations_in("notifications", resources.files("clinicflow.notifications") / "migrations"),
        description="Routing, channels, staff inbox, alert escalation and delivery audit.",
    )
    return build_app(definition)
