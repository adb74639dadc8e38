# PostgreSQL 15 from Debian's package. On first start the entrypoint makes the cluster, sets the
# password of POSTGRES_USER (POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE) and creates every database
# named in POSTGRES_DATABASES (comma-separated: one per service).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres /var/run/postgresql
COPY postgres/ /opt/seevee-postgres/
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
HEALTHCHECK --interval=5s --timeout=5s --start-period=120s --retries=6 CMD ["pg_isready", "-h", "127.0.0.1", "-q"]
ENTRYPOINT ["/opt/seevee-postgres/entrypoint.sh"]
