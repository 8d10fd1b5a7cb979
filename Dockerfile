# shardgate in a container.
#
#   docker build -t shardgate .
#   docker run -p 3307:3307 -v $PWD/my.toml:/etc/shardgate/shardgate.toml:ro shardgate
#
# docker-compose.yml runs it in front of two MySQL 8 servers, with Prometheus.
# scripts/container_check.sh runs the build stage's command on a copy of
# exactly what is copied in here, and checks config/docker.toml.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml names the bench targets and the golden test (harness = false),
# so their files must exist for the manifest to load.
COPY benches ./benches
COPY tests/golden.rs ./tests/golden.rs
RUN cargo build --release --locked --bin shardgate
# The data directory (XA decision log), to be owned by the run-time user.
RUN mkdir -p /out/data

# Run time: the binary on distroless (glibc and libgcc only; no shell, no
# package manager), as the image's unprivileged user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/shardgate /usr/local/bin/shardgate
COPY config/docker.toml /etc/shardgate/shardgate.toml
COPY --from=build --chown=65532:65532 /out/data /var/lib/shardgate
WORKDIR /var/lib/shardgate
USER nonroot:nonroot
EXPOSE 3307 9307
# `shardgate health` GETs /healthz on server.admin_listen (no curl needed).
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/shardgate", "--config", "/etc/shardgate/shardgate.toml", "health"]
ENTRYPOINT ["/usr/local/bin/shardgate"]
CMD ["--config", "/etc/shardgate/shardgate.toml"]
