"""A Docker engine with Compose v2 on this machine, and the images docker-compose.yml needs where no registry can
be reached: the pieces the compose test (tests/deploy/) stands on.

- The engine: the one that answers, or else Debian's ``docker.io`` installed and ``dockerd`` started.
- Compose v2: the plugin if installed, or else built from its Go module (``go install`` refuses the module because of
  its ``exclude`` directives, so it is downloaded and built in place) and cached.
- A Debian bookworm base image from the package mirror (``debootstrap`` + ``docker import``), the test's stand-ins
  for the official images (tests/deploy/images/), and the clinicflow image built offline from a wheelhouse the host
  makes: the host reaches PyPI through a TLS-inspecting proxy the containers do not trust, and no CA goes into an
  image. Everything built is kept (images in the engine, downloads under ``~/.cache/clinicflow``), so a second run
  reuses it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clinicflow.localinfra.kafka import kafka_version, resolve_jars

REPO = Path(__file__).resolve().parents[4]
IMAGES = REPO / "tests" / "deploy" / "images"
COMPOSE_VERSION = "v2.40.3"
KUSTOMIZE_VERSION = "v5.8.2"  # v5.8.3 needs Go 1.27; these machines have 1.26
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_IMAGE = "clinicflow-test/debian:bookworm"
PYTHON_IMAGE = "clinicflow-test/python:3.11-bookworm"


def cache() -> Path:
    """Where downloads and builds are kept between runs."""
    path = Path(os.environ.get("CLINICFLOW_CACHE", Path.home() / ".cache" / "clinicflow"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(*command: str, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def _answers(*command: str) -> bool:
    return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def ensure_engine(timeout: float = 60) -> None:
    """A Docker engine that answers: this one, or Debian's installed and started."""
    if shutil.which("docker") and _answers("docker", "info"):
        return
    if not shutil.which("dockerd"):
        _run("apt-get", "update", "-qq")
        _run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker.io", "debootstrap",
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    log = open(cache() / "dockerd.log", "ab")  # noqa: SIM115 - owned by the daemon
    subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                     start_new_session=True)
    deadline = time.monotonic() + timeout
    while not _answers("docker", "info"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"dockerd did not answer within {timeout:.0f}s; see {cache() / 'dockerd.log'}")
        time.sleep(0.5)


def go_tool(module: str, version: str, package: str, name: str, *, ldflags: str = "-s -w") -> Path:
    """A command built from a Go module at a pinned version and kept in the cache. The module is downloaded and built
    in place rather than with ``go install``, which refuses modules with ``exclude`` or ``replace`` directives."""
    built = cache() / f"{name}-{version}"
    if built.exists():
        return built
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    downloaded = json.loads(_run("go", "mod", "download", "-json", f"{module}@{version}", capture_output=True,
                                 env=env, cwd=tempfile.gettempdir()).stdout)
    staging = built.with_suffix(".partial")
    _run("go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(staging), package, cwd=downloaded["Dir"], env=env)
    staging.rename(built)
    return built


def ensure_compose() -> None:
    """``docker compose`` (v2): the installed plugin, or one built from its Go module."""
    if _answers("docker", "compose", "version"):
        return
    built = go_tool("github.com/docker/compose/v2", COMPOSE_VERSION, "./cmd", "docker-compose",
                    ldflags=f"-s -w -X github.com/docker/compose/v2/internal.Version={COMPOSE_VERSION}")
    plugins = Path.home() / ".docker" / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, plugins / "docker-compose")


def kustomize() -> Path:
    """kustomize, built from its Go module (the version pinned here)."""
    return go_tool("sigs.k8s.io/kustomize/kustomize/v5", KUSTOMIZE_VERSION, ".", "kustomize")


def _has_image(tag: str) -> bool:
    return _answers("docker", "image", "inspect", tag)


def ensure_base_image() -> None:
    """Debian bookworm (minbase) from the package mirror, imported as an image."""
    if _has_image(BASE_IMAGE):
        return
    rootfs = cache() / "debian-bookworm-minbase.tar"
    if not rootfs.exists():
        if not shutil.which("debootstrap"):
            _run("apt-get", "update", "-qq")
            _run("apt-get", "install", "-y", "-qq", "debootstrap", stdout=subprocess.DEVNULL)
        with tempfile.TemporaryDirectory() as tree:
            _run("debootstrap", "--variant=minbase", "bookworm", tree, DEBIAN_MIRROR, stdout=subprocess.DEVNULL)
            _run("tar", "-C", tree, "-cf", str(rootfs.with_suffix(".partial")), ".")
        rootfs.with_suffix(".partial").rename(rootfs)
    with open(rootfs, "rb") as tar:
        _run("docker", "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", 'CMD ["bash"]', "-", BASE_IMAGE, stdin=tar, stdout=subprocess.DEVNULL)


def _build(tag: str, context: Path, *args: str) -> None:
    _run("docker", "build", "-q", "-t", tag, *args, str(context), stdout=subprocess.DEVNULL,
         env={**os.environ, "DOCKER_BUILDKIT": "0"})  # the engine's own builder: no buildx plugin here


def ensure_stand_in_images() -> dict[str, str]:
    """The test's stand-ins for the official images that cannot be pulled (each Dockerfile says what it honours)."""
    ensure_base_image()
    tags = {"python": PYTHON_IMAGE, "postgres": "clinicflow-test/postgres:15", "mailpit": "clinicflow-test/mailpit",
            "kafka": f"clinicflow-test/kafka:{kafka_version()}"}
    for name in ("python", "postgres", "mailpit"):  # built each time: the layer cache makes an unchanged one free
        _build(tags[name], IMAGES / name)
    if not _has_image(tags["kafka"]):
        with tempfile.TemporaryDirectory() as context:
            shutil.copytree(IMAGES / "kafka", context, dirs_exist_ok=True)
            shutil.copytree(resolve_jars(), Path(context) / "libs", ignore=shutil.ignore_patterns(".complete"))
            _build(tags["kafka"], Path(context))
    return tags


def build_clinicflow_image(tag: str = "clinicflow:local") -> None:
    """The clinicflow image from the repository's Dockerfile, offline: the host fills wheelhouse/ with the wheel of
    every dependency requirements.lock names (its hashes checked here and again in the build), and the build
    installs from it alone."""
    wheelhouse = REPO / "wheelhouse"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    _run(*pip, "download", "--dest", str(wheelhouse), "pip==25.3", "build==1.3.0", "hatchling>=1.25")
    _run(*pip, "download", "--dest", str(wheelhouse), "--only-binary", ":all:", "-r", str(REPO / "requirements.lock"))
    _build(tag, REPO, "--build-arg", f"PYTHON_IMAGE={PYTHON_IMAGE}", "--build-arg", "PIP_NO_INDEX=1")
