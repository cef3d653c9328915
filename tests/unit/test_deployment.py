"""The ops files, checked without a Docker engine or a cluster: docker-compose.yml against the Compose
specification's JSON schema, the Kubernetes manifests against the Kubernetes API schemas, and every service, port
and environment variable they name against the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from clinicflow.intake.settings import IntakeSettings
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.register.settings import RegisterSettings
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, KafkaSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"intake": IntakeSettings, "screening": ScreeningSettings, "sessions": SessionsSettings,
            "notifications": NotificationsSettings, "register": RegisterSettings}
KUBERNETES_VERSION = "1.33"


def env_names() -> set[str]:
    """Every environment variable the code reads."""
    names = set()
    for cls in (KafkaSettings, DatabaseSettings, AuthSettings, *SERVICES.values()):
        prefix = cls.model_config["env_prefix"]
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields}
    return names


@pytest.fixture(scope="session")
def compose_schema(tmp_path_factory) -> dict:
    """The Compose specification's JSON schema, as shipped in the docker-compose package on PyPI."""
    folder = tmp_path_factory.mktemp("compose-spec")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder),
                    "docker-compose==1.29.2"], check=True)
    with zipfile.ZipFile(next(folder.glob("*.whl"))) as wheel:
        return json.loads(wheel.read("compose/config/compose_spec.json"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_follows_the_compose_specification(compose, compose_schema):
    jsonschema.validate(compose, compose_schema)


def test_compose_runs_each_service_from_the_code_on_its_port_with_healthchecks_on_readyz(compose):
    for name, settings in SERVICES.items():
        service = compose["services"][name]
        port = settings.model_fields["http_port"].default
        assert (ROOT / "services" / name / "clinicflow" / name).is_dir()
        assert service["command"] == [f"clinicflow-{name}"]
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert service["deploy"]["resources"]["limits"]


def test_compose_pins_the_kafka_version_the_tests_use(compose):
    pom_version = re.search(r"<kafka.version>([^<]+)<", (ROOT / "deploy/kafka/pom.xml").read_text()).group(1)
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{pom_version}"
    assert compose["services"]["postgres"]["image"] == "postgres:15"


def test_every_variable_compose_and_env_example_give_the_services_exists_in_the_code(compose):
    known = env_names()
    for name in (*SERVICES, "init"):
        assert set(compose["services"][name]["environment"]) <= known, name
    example = [line.split("=")[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")]
    assert set(example) - {"POSTGRES_PASSWORD", *DATABASE_PASSWORDS} <= known
    assert set(DATABASE_PASSWORDS) <= set(example)
    for name, service in compose["services"].items():  # no credential is written in the file, only referenced
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key or "KEYS" in key:
                assert str(value).startswith("${"), (name, key)
            if "://" in str(value) and "@" in str(value):
                assert re.search(r"://[a-z_]+:\$\{[A-Z_]+:\?[^}]+\}@", value), (name, key)


DATABASE_PASSWORDS = ("MIGRATOR_DATABASE_PASSWORD", *(f"{name.upper()}_DATABASE_PASSWORD" for name in SERVICES))


def test_compose_gives_each_service_its_own_login_and_only_its_own_secrets(compose):
    """Least privilege in compose: a compromised service holds its own database login, not the superuser's or the
    migrator's, and only intake holds the field-encryption keys; nothing reads the whole .env; every published port
    (the APIs' /docs, Mailpit's UI) answers on this host only."""
    for name in SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["DATABASE_URL"].startswith(f"postgresql://clinicflow_{name}:"), name
        assert environment["DATABASE_MIGRATE_ON_START"] == "false"
        assert "DATABASE_MIGRATOR_URL" not in environment
        assert ("INTAKE_ENCRYPTION_KEYS" in environment) == (name == "intake"), name
    init = compose["services"]["init"]["environment"]
    assert init["DATABASE_MIGRATOR_URL"].startswith("postgresql://clinicflow_migrator:")
    assert "DATABASE_URL" not in init
    migrations = compose["services"]["init"]["command"][-1]
    for name in SERVICES:
        assert f"DATABASE_RUNTIME_ROLE=clinicflow_{name} clinicflow-{name} migrate" in migrations
    assert all("env_file" not in service for service in compose["services"].values())
    for name, service in compose["services"].items():
        for published in service.get("ports", []):
            assert published.startswith("127.0.0.1:"), (name, published)


def manifests() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in sorted((ROOT / "deploy/k8s").rglob("*.yaml"))
            if path.name not in ("kustomization.yaml", "replicas.yaml") and not path.name.endswith(".patch.yaml")
            for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize(("path", "resource"), manifests(), ids=lambda v: getattr(v, "name", "") or v.get("kind", ""))
def test_each_kubernetes_manifest_is_valid_against_the_api_schema(path, resource):
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_each_deployment_has_probes_limits_a_budget_and_only_known_settings():
    resources = [doc for _, doc in manifests()]
    budgets = {d["metadata"]["name"] for d in resources if d["kind"] == "PodDisruptionBudget"}
    known = env_names()
    for deployment in (d for d in resources if d["kind"] == "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["limits"] and container["resources"]["requests"]
        assert {e["name"] for e in container["env"]} <= known
        assert deployment["metadata"]["name"] in budgets
    for config in (d for d in resources if d["kind"] == "ConfigMap"):
        assert set(config["data"]) <= known, config["metadata"]


def test_the_kustomizations_name_files_that_exist():
    for kustomization in (ROOT / "deploy/k8s").rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for entry in spec.get("resources", []) + [p["path"] for p in spec.get("patches", [])]:
            assert (kustomization.parent / entry).exists(), (kustomization, entry)


IMAGE_PACKAGES = ("shared", *(f"services/{name}" for name in SERVICES))


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as name → (version, hashes)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line):
            name = canonicalize_name(match.group(1))
            entries[name] = (match.group(2), [])
        elif match := re.search(r"--hash=(sha256:[0-9a-f]{64})", line):
            entries[name][1].append(match.group(1))
    return entries


def test_the_lock_pins_every_image_dependency_within_its_bounds_with_hashes():
    """The image installs requirements.lock alone (--require-hashes, then our wheels with --no-deps, then pip
    check), and every dependency is bounded above: a dependency added to a pyproject.toml without `make lock` is
    caught here, not in a broken image."""
    lock = locked()
    assert lock and all(hashes for _, hashes in lock.values())
    for package in IMAGE_PACKAGES:
        project = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]
        for requirement in map(Requirement, project["dependencies"]):
            name = canonicalize_name(requirement.name)
            if name.startswith("clinicflow-"):
                continue
            assert name in lock, (package, name)
            assert requirement.specifier.contains(lock[name][0]), (package, str(requirement), lock[name][0])
            # bounded above: a new major version is a decision, not something a rebuild picks up
            assert any(spec.operator in ("<", "==", "~=") for spec in requirement.specifier), (package, name)
