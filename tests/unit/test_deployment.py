"""The ops files, checked without a Docker engine or a cluster: docker-compose.yml against the Compose
specification's JSON schema, the Kubernetes manifests against the Kubernetes API schemas, and every service, port
and environment variable they name against the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

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
        assert service["ports"] == [f"{port}:{port}"]
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
    assert set(example) - {"POSTGRES_PASSWORD"} <= known
    assert "password" not in (ROOT / "docker-compose.yml").read_text().lower().replace("postgres_password", "")


def manifests() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in sorted((ROOT / "deploy/k8s").rglob("*.yaml"))
            if path.name not in ("kustomization.yaml", "replicas.yaml")
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
