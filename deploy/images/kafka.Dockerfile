# Apache Kafka 4.1.2 in KRaft mode (one node, broker + controller), from the jars deploy/kafka/pom.xml
# resolves on the build machine (build.sh stages them as libs/): the same jars `make run` uses.
FROM debian:bookworm-slim
RUN apt-get update \
 && mkdir -p /usr/share/man/man1 \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 --user-group --create-home --home-dir /var/lib/kafka --shell /usr/sbin/nologin kafka \
 && install -d -o kafka -g kafka /var/lib/kafka/data
COPY libs/ /opt/kafka/libs/
COPY kafka/ /opt/kafka/config/
ENV KAFKA_HEAP_OPTS="-Xms256m -Xmx768m" \
    KAFKA_DATA_DIR=/var/lib/kafka/data
USER 10002:10002
VOLUME ["/var/lib/kafka/data"]
EXPOSE 9092 19092
HEALTHCHECK --interval=5s --timeout=5s --start-period=180s --retries=6 CMD ["/opt/kafka/config/healthcheck.sh"]
ENTRYPOINT ["/opt/kafka/config/entrypoint.sh"]
