# The five services in one image; the command picks one: `serve <service>`, `migrate <service>`.
# Built by deploy/images/build.sh from a staged context: requirements.txt (the services' third-party
# pins from uv.lock), wheels/ (the workspace's own packages) and build-ca.crt (see build.sh; never
# committed). Third-party packages are their own layer, so a code change rebuilds in seconds.
FROM debian:bookworm-slim AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY build-ca.crt /tmp/build-ca.crt
COPY requirements.txt /tmp/requirements.txt
# The CA bundle reaches PyPI through whatever TLS gateway the build machine has; empty = system trust.
RUN if [ -s /tmp/build-ca.crt ]; then export SSL_CERT_FILE=/tmp/build-ca.crt PIP_CERT=/tmp/build-ca.crt; fi \
 && python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check uv==0.13.9 \
 && python3 -m venv --without-pip /opt/seevee \
 && UV_NATIVE_TLS=1 /opt/uv/bin/uv pip install --no-cache --compile-bytecode --python /opt/seevee/bin/python \
      --no-deps -r /tmp/requirements.txt
COPY wheels/ /tmp/wheels/
RUN /opt/uv/bin/uv pip install --no-cache --compile-bytecode --python /opt/seevee/bin/python --no-deps \
      /tmp/wheels/*.whl \
 && /opt/seevee/bin/python -c "import bounce_ingest.app, run_orchestrator.app, task_service.app, thread_service.app, refund_service.app"

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/seevee --shell /usr/sbin/nologin seevee
COPY --from=builder /opt/seevee /opt/seevee
ENV PATH=/opt/seevee/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    MIGRATE_ON_START=false
USER 10001:10001
WORKDIR /home/seevee
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 CMD ["seevee", "probe", "--path", "/readyz"]
ENTRYPOINT ["seevee"]
CMD ["serve", "bounce-ingest"]
