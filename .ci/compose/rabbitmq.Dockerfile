# A stand-in for the official rabbitmq image where no public image registry is reachable: Debian's rabbitmq-server
# on the local base image. RabbitMQ itself reads RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS and
# RABBITMQ_DEFAULT_VHOST (as the official image relies on), and rabbitmq-diagnostics answers compose.yaml's check.
#   podman build -f .ci/compose/rabbitmq.Dockerfile --build-arg BASE_IMAGE=localhost/lienthong-base:20 \
#     -t localhost/lienthong-rabbitmq:ci .ci/compose
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/rabbitmq/mnesia \
 && printf 'listeners.tcp.default = 5672\nloopback_users = none\n' >/etc/rabbitmq/rabbitmq.conf
ENV RABBITMQ_LOGS=-
VOLUME ["/var/lib/rabbitmq"]
EXPOSE 5672
CMD ["rabbitmq-server"]
