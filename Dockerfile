# slogate in a FROM-scratch image: the static musl binary and the CA certificates, nothing else.
#
#   docker build -t slogate --build-arg SLOGATE_COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm -v "$PWD:/work" -w /work -e DT_URL -e DT_API_TOKEN slogate gate --config slo
#
# (buildah bud / podman build take the same arguments.) The final stage is the same as
# dist/container/Dockerfile's, which packs a binary built beforehand by dist/build-static.sh and
# is what dist/test-image.sh builds and runs. dist/test-static.sh runs the binary in a root
# holding exactly these files.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
ARG SLOGATE_COMMIT=""
ARG SOURCE_DATE_EPOCH=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN CC_x86_64_unknown_linux_musl=musl-gcc RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-musl -p slogate \
 && cp target/x86_64-unknown-linux-musl/release/slogate /slogate

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /slogate /slogate
# No shell, no user database: run as a numeric non-root user. Mount the SLO files and a
# writable folder for reports and the history (e.g. --history /work/.slogate/history.sqlite).
USER 65534:65534
WORKDIR /work
ENTRYPOINT ["/slogate"]
CMD ["--help"]
