# One image for the five services; each container starts one of them (compose/Kubernetes set the command).
# One image because the services share the platform package and a build matrix of one is simpler to keep
# patched; the service packages stay separate inside it, so splitting into per-service images later is a
# change to this file only.
#
# Builds from PyPI by default. Behind a network with no package index, or one whose TLS-inspecting proxy the build
# cannot trust, make a wheelhouse on the host and build offline (deploy/README.md): nothing about the network, no CA
# certificate, ever lands in the image. PYTHON_IMAGE names the Python base (the compose test builds one locally
# where no registry can be reached).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: wheels for the shared package and every service, installed into one virtualenv ---------------------
FROM ${PYTHON_IMAGE} AS build
ARG PIP_NO_INDEX=0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheelhouse PIP_NO_INDEX=${PIP_NO_INDEX}
WORKDIR /src
COPY wheelhouse/ /wheelhouse/
RUN python -m venv /opt/clinicflow && /opt/clinicflow/bin/pip install --upgrade pip==25.3 build==1.3.0
# Every dependency at the version and with the hash requirements.lock names: the same image from the same commit.
COPY requirements.lock ./
RUN /opt/clinicflow/bin/pip install --require-hashes -r requirements.lock
COPY shared/ shared/
COPY services/ services/
RUN for package in shared services/intake services/screening services/sessions services/notifications \
                   services/register; do \
        /opt/clinicflow/bin/python -m build --wheel --outdir /wheels "$package" || exit 1; \
    done \
 && /opt/clinicflow/bin/pip install --no-deps /wheels/*.whl \
 && /opt/clinicflow/bin/pip uninstall -y build pyproject_hooks \
 && /opt/clinicflow/bin/pip check

# --- runtime: slim, non-root, no compilers, no wheels ---------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/clinicflow/bin:$PATH
RUN groupadd --system --gid 10001 clinicflow \
 && useradd --system --uid 10001 --gid clinicflow --no-create-home --shell /usr/sbin/nologin clinicflow
COPY --from=build /opt/clinicflow /opt/clinicflow
USER 10001:10001
# Services bind all interfaces inside a container; the settings default is loopback for local runs.
ENV INTAKE_HTTP_HOST=0.0.0.0 SCREENING_HTTP_HOST=0.0.0.0 SESSIONS_HTTP_HOST=0.0.0.0 NOTIFICATIONS_HTTP_HOST=0.0.0.0 \
    REGISTER_HTTP_HOST=0.0.0.0
EXPOSE 8001 8002 8003 8004 8005
CMD ["clinicflow", "--help"]
