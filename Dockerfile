# shardgate in a container.
#
#   docker build -t shardgate .
#   docker run -p 3307:3307 -v $PWD/my.toml:/etc/shardgate/shardgate.toml:ro shardgate
#
# docker-compose.yml runs it in front of two MySQL 8 servers.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml names the relay bench target, so its file must exist.
COPY benches ./benches
RUN cargo build --release --locked --bin shardgate

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/shardgate /usr/local/bin/shardgate
COPY config/docker.toml /etc/shardgate/shardgate.toml
WORKDIR /var/lib/shardgate
EXPOSE 3307
ENTRYPOINT ["shardgate"]
CMD ["--config", "/etc/shardgate/shardgate.toml"]
