# A stand-in for the official postgres image where no public image registry is reachable: Debian's PostgreSQL 15 on
# the local base image, with an entrypoint that does what the official one does with POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB on an empty data folder (a superuser with that password, its database,
# password authentication over TCP).
#   podman build -f .ci/compose/postgres.Dockerfile --build-arg BASE_IMAGE=localhost/lienthong-base:20 \
#     -t localhost/lienthong-postgres:ci .ci/compose
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
