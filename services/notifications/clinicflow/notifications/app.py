"""Wiring of the notifications service: the one place its parts are put together."""

from datetime import timedelta
from importlib import resources

from fastapi import FastAPI

from clinicflow.notifications import service
from clinicflow.notifications.acklinks import AckLinks
from clinicflow.notifications.api import build_router
from clinicflow.notifications.channels import Channel, SignedWebhook, SmtpEmail
from clinicflow.notifications.configfiles import check_together, load_directory, load_routing
from clinicflow.notifications.dispatcher import background_workers
from clinicflow.notifications.domain import RetryPolicy
from clinicflow.notifications.handlers import build_handlers
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.runtime import Clock, ServiceDefinition, build_app, utc_now


def migrations() -> list[Migration]:
    """The notifications schema's own migrations (the platform's come first)."""
    return migrations_in("notifications", resources.files("clinicflow.notifications") / "migrations")


def channels_from(settings: NotificationsSettings) -> dict[str, Channel]:
    """The channels whose settings are present."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpEmail(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.email_from,
            starttls=settings.smtp_starttls, implicit_tls=settings.smtp_implicit_tls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )
    for kind, url, secret in (("chat", settings.chat_webhook_url, settings.chat_webhook_secret),
                              ("sms", settings.sms_gateway_url, settings.sms_gateway_secret)):
        if url:
            if secret is None:
                raise ValueError(f"the {kind} webhook needs its signing secret")
            channels[kind] = SignedWebhook(url=url, secret=secret.get_secret_value().encode(), kind=kind)
    return channels


def ack_links_from(settings: NotificationsSettings) -> AckLinks | None:
    """Acknowledgement links for chat and SMS alerts; their key is required once either channel is on."""
    if settings.ack_link_secret is None:
        if settings.chat_webhook_url or settings.sms_gateway_url:
            raise ValueError("NOTIFICATIONS_ACK_LINK_SECRET is required when chat or SMS is configured: urgent "
                             "alerts sent there carry a signed acknowledgement link")
        return None
    return AckLinks(secret=settings.ack_link_secret.get_secret_value().encode(), base_url=settings.ack_link_base_url,
                    valid_for=timedelta(minutes=settings.ack_link_valid_minutes))


def create_app(settings: NotificationsSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The notifications service's ASGI app."""
    routing, directory = load_routing(settings.routing_file), load_directory(settings.directory_file)
    check_together(routing, directory, routing_file=settings.routing_file)
    config = service.Config(
        routing=routing,
        directory=directory,
        channels=channels_from(settings),
        retry=RetryPolicy(max_attempts=routing.max_attempts, first=timedelta(seconds=settings.retry_first_seconds),
                          cap=timedelta(seconds=settings.retry_cap_seconds)),
        staff_portal_url=settings.staff_portal_url,
        ack_links=ack_links_from(settings),
        send_lease=timedelta(seconds=settings.send_lease_seconds),
    )
    definition = ServiceDefinition(
        settings=settings,
        migrations=migrations(),
        routers=[build_router(config)],
        handlers=build_handlers(config, clock),
        urgent_events=frozenset(r.event for r in routing.rules if r.priority == "urgent"),
        background=background_workers(config, poll_seconds=settings.dispatcher_poll_seconds),
        description="Routing, channels, staff inbox, alert escalation and delivery audit.",
    )
    return build_app(definition, clock=clock)
