# One image for the five services; each container starts one of them (compose/Kubernetes set the command).
# One image because the services share the platform package and a build matrix of one is simpler to keep
# patched; the service packages stay separate inside it, so splitting into per-service images later is a
# change to this file only.

# --- build: wheels for the shared package and every service -------------------------------------------------
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip==25.3 build==1.3.0
COPY shared/ shared/
COPY services/ services/
RUN for package in shared services/intake services/screening services/sessions services/notifications \
                   services/register; do \
        python -m build --wheel --outdir /wheels "$package"; \
    done

# --- runtime: slim, non-root, no compilers ------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 clinicflow \
 && useradd --system --uid 10001 --gid clinicflow --no-create-home --shell /usr/sbin/nologin clinicflow
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER 10001:10001
# Services bind all interfaces inside a container; the settings default is loopback for local runs.
ENV INTAKE_HTTP_HOST=0.0.0.0 SCREENING_HTTP_HOST=0.0.0.0 SESSIONS_HTTP_HOST=0.0.0.0 NOTIFICATIONS_HTTP_HOST=0.0.0.0 \
    REGISTER_HTTP_HOST=0.0.0.0
EXPOSE 8001 8002 8003 8004 8005
CMD ["clinicflow", "--help"]
