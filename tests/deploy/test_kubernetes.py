"""The Kubernetes production overlay as it is applied: rendered by kustomize (built from its Go module), every
rendered manifest valid against the Kubernetes API schema, and the overlay's promises kept in what it renders."""

from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest
import yaml

from clinicflow.localinfra.docker import REPO, kustomize
from tests.unit.test_deployment import KUBERNETES_VERSION

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
SERVICES = {"intake", "screening", "sessions", "notifications", "register"}


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    output = subprocess.run([str(kustomize()), "build", str(REPO / "deploy/k8s/overlays/production")], check=True,
                            capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def test_every_rendered_manifest_is_valid_against_the_api_schema(rendered):
    assert rendered
    for resource in rendered:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_overlay_puts_every_service_in_the_namespace_three_times_over_on_the_released_image(rendered):
    deployments = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Deployment"}
    assert set(deployments) == SERVICES
    assert {d["metadata"].get("namespace") for d in rendered if d["kind"] != "Namespace"} == {"clinicflow"}
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        [container] = spec["containers"]
        assert deployment["spec"]["replicas"] == 3, name
        assert container["image"] == "registry.clinic.example/clinicflow:0.1.0", name
        assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    config = next(d for d in rendered if d["kind"] == "ConfigMap")
    assert config["data"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    budgets = {d["metadata"]["name"] for d in rendered if d["kind"] == "PodDisruptionBudget"}
    assert budgets == SERVICES


def test_each_workload_holds_only_its_own_secret_and_no_signing_key(rendered):
    """Least privilege as rendered: one Secret per service (its own database login and Kafka principal), the
    migrator's login for the init job alone, tokens verified against the identity provider's JWKS, no API docs."""
    config = next(d for d in rendered if d["kind"] == "ConfigMap")["data"]
    assert config["AUTH_JWKS_URL"].startswith("https://") and config["AUTH_ISSUER"] and config["AUTH_AUDIENCE"]
    assert config["DATABASE_MIGRATE_ON_START"] == "false"
    assert not any(k in config for k in ("AUTH_JWT_SECRET", "KAFKA_SASL_USERNAME", "DATABASE_URL"))
    for deployment in (d for d in rendered if d["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        secrets = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
        assert secrets == [f"clinicflow-{name}"], name
        assert {"name": f"{name.upper()}_API_DOCS", "value": "false"} in container["env"], name
    job = next(d for d in rendered if d["kind"] == "Job")
    [init] = job["spec"]["template"]["spec"]["containers"]
    assert [s["secretRef"]["name"] for s in init["envFrom"] if "secretRef" in s] == ["clinicflow-migrator"]
    assert init["args"][0].startswith("clinicflow acls --apply && clinicflow topics && ")
    for name in SERVICES:
        assert f"DATABASE_RUNTIME_ROLE=clinicflow_{name} clinicflow-{name} migrate" in init["args"][0]
