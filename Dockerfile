# A small image with the userplane binary: built statically (musl) in a Rust image, then
# copied alone into an empty one. Build and run:
#
#   docker build -t userplane .
#   docker run --rm -p 8700:8700 -v userplane-data:/data userplane
#
# The state lives in the /data volume (SQLite), or in PostgreSQL with
# -e USERPLANE_DATABASE_URL=postgres://... . TLS roots for `userplane offboard` against the
# real providers are compiled in (rustls with webpki roots), so the image needs no CA files.

# The toolchain of rust-toolchain.toml.
FROM rust:1.95.0-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl --bin userplane \
    && install -D target/x86_64-unknown-linux-musl/release/userplane /out/userplane \
    && mkdir -p /out/data

FROM scratch
COPY --from=build /out/userplane /userplane
COPY --from=build --chown=65534:65534 /out/data /data
USER 65534:65534
ENV USERPLANE_LISTEN=0.0.0.0:8700 \
    USERPLANE_DATABASE_URL=sqlite:///data/userplane.db
VOLUME /data
EXPOSE 8700
ENTRYPOINT ["/userplane"]
CMD ["serve"]
