"""Typed settings: infrastructure groups shared by every service, and the base each service's own class extends.

Each group reads its own environment prefix (``KAFKA_``, ``DATABASE_``, ``AUTH_``); a service adds its own prefix for
what is only its own (``INTAKE_HTTP_PORT``...). Required secrets have no default, so a missing one fails at start.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster (PLAINTEXT locally, SASL_SSL on a real cluster)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    topic_prefix: str = Field("", description="Namespace for topics and groups on a shared cluster, e.g. `staging.`.")
    topic_partitions: int = Field(3, ge=1, description="Partitions for topics this service creates.")
    topic_replication_factor: int = Field(1, ge=1, description="3 on a production cluster.")
    topic_min_insync_replicas: int | None = Field(None, ge=1, description="2 on a production cluster.")
    identifiable_topic_retention_hours: float = Field(
        24.0, gt=0, description="Retention of topics that carry personal data (the raw web form and its DLQ)."
    )


class DatabaseSettings(BaseSettings):
    """How to reach PostgreSQL; each service works in its own schema of it.

    In production a service logs in as its own runtime role (``url``), which may read and write its schema's tables
    and nothing else; migrations run beforehand as the schema's owner (``<service> migrate`` with ``migrator_url``,
    granting ``runtime_role``), and the service only checks at start that they have run (``migrate_on_start``
    false). Locally one login may do both.
    """

    model_config = SettingsConfigDict(env_prefix="DATABASE_")

    url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/postgres")
    pool_min_size: int = 1
    pool_max_size: int = 10
    acquire_timeout_seconds: float = Field(5.0, gt=0, description="A request that waits longer for a connection "
                                                                  "gets 503 and Retry-After, not a hung socket.")
    statement_timeout_ms: int = Field(30_000, ge=100, description="No statement holds a connection longer.")
    migrate_on_start: bool = Field(True, description="Apply migrations at start (a local convenience); when false, "
                                                     "refuse to start on a schema not fully migrated.")
    migrator_url: SecretStr | None = Field(None, description="The schema owner's login, for `migrate` only.")
    runtime_role: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$",
                                     description="The role `migrate` grants the service's table access to.")

    @field_validator("url", "migrator_url")
    @classmethod
    def _verified_tls_or_none(cls, value: SecretStr | None) -> SecretStr | None:
        # TLS that does not check the server's name and certificate protects nothing from whoever can redirect the
        # connection, and reads as if it did: either verify-full (production) or, on a private network, no TLS.
        if value is not None:
            mode = parse_qs(urlsplit(value.get_secret_value()).query).get("sslmode", [None])[-1]
            if mode in WEAK_SSL_MODES:
                raise ValueError(f"sslmode={mode} does not verify the server: use sslmode=verify-full with "
                                 "sslrootcert=<the server's CA>")
        return value


WEAK_SSL_MODES = frozenset({"allow", "prefer", "require", "verify-ca"})


MINIMUM_KEY_BYTES = 32  # HS256 needs a key at least as long as its hash (RFC 7518 §3.2)
PLACEHOLDER_MARKS = ("change-me", "changeme", "replace", "placeholder", "example", "secret-here")


def strong_key(value: SecretStr | None, *, what: str) -> SecretStr | None:
    """A signing key of at least 32 bytes that is not a copied placeholder (e.g. `.env.example`'s); None passes."""
    if value is None:
        return None
    key = value.get_secret_value()
    if len(key.encode()) < MINIMUM_KEY_BYTES:
        raise ValueError(f"{what} must be at least {MINIMUM_KEY_BYTES} bytes of random data")
    if any(mark in key.lower() for mark in PLACEHOLDER_MARKS):
        raise ValueError(f"{what} is a placeholder: generate a random key (python -c \"import secrets; "
                         "print(secrets.token_urlsafe(32))\")")
    return value


class AuthSettings(BaseSettings):
    """How staff bearer tokens are verified: a shared HS256 key, or an identity provider's JWKS."""

    model_config = SettingsConfigDict(env_prefix="AUTH_")

    jwt_secret: SecretStr | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None

    @field_validator("jwt_secret")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        return strong_key(value, what="AUTH_JWT_SECRET")

    @model_validator(mode="after")
    def _one_key_source(self) -> AuthSettings:
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError("set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL: staff tokens cannot be verified "
                             "without one")
        if self.jwks_url is not None and not (self.issuer and self.audience):
            raise ValueError("with AUTH_JWKS_URL also set AUTH_ISSUER and AUTH_AUDIENCE: a token another application "
                             "obtained from the same identity provider must not open clinicflow")
        return self


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set ``env_prefix`` and defaults for name, port and schema."""

    service_name: str
    http_host: str = "127.0.0.1"
    http_port: int
    db_schema: str
    log_level: str = "INFO"
    outbox_poll_seconds: float = Field(2.0, gt=0, description="Safety-net poll when no NOTIFY arrives.")
    outbox_retention_hours: float = Field(24.0 * 7, gt=0, description="How long sent outbox rows are kept.")
    inbox_retention_hours: float = Field(24.0 * 30, gt=0, description="How long processed event ids are kept.")
    consumer_retry_attempts: int = Field(5, ge=1, description="Tries for a transient failure before re-delivery.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest HTTP request body accepted.")
    api_docs: bool = Field(True, description="Serve /docs, /openapi.json and /asyncapi.json; off in production, "
                                             "where the contracts are published from the repository instead.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @field_validator("db_schema")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not _SCHEMA_NAME.match(value):
            raise ValueError("schema names are lower-case letters, digits and underscores")
        return value


class MigrationSettings(BaseSettings):
    """What ``<service> migrate`` reads, and nothing more: the schema (under the service's prefix) and the database
    logins. The migrator is given no service secret: not intake's keys, not a token key."""

    db_schema: str | None = None
    log_level: str = "INFO"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)

    @classmethod
    def of(cls, service: type[ServiceSettings]) -> MigrationSettings:
        """The migration settings of ``service``, read from its environment prefix with its default schema."""
        read = cls(_env_prefix=service.model_config["env_prefix"])
        schema = read.db_schema or service.model_fields["db_schema"].default
        if not _SCHEMA_NAME.match(schema):
            raise ValueError("schema names are lower-case letters, digits and underscores")
        return read.model_copy(update={"db_schema": schema})
