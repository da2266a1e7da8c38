#!/usr/bin/env bash
# The static `coroner` for containers and old hosts: built for
# x86_64-unknown-linux-musl (Rust's self-contained musl; musl-gcc only for
# zstd's C sources), checked to need no dynamic loader or shared
# library, then the end-to-end oracle tests (capture of the test program;
# gdb, lldb and eu-stack read the core) run against it. aarch64 musl is
# compile-checked, the CLI included, by .ci/run beside the other
# cross-target checks.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
rustup target add "$target"
# zstd-sys (coroner-store's compression) compiles C: musl-gcc for the target.
if ! command -v musl-gcc >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y musl-tools || { apt-get update && apt-get install -y musl-tools; }
fi

start=$SECONDS
cargo build --quiet --release --locked --target "$target" -p coroner
bin="target/$target/release/coroner"
echo "musl: built $bin in $((SECONDS - start)) s"

# Static: no PT_INTERP (dynamic loader) and no DT_NEEDED (shared library).
if readelf --program-headers --wide "$bin" | grep -q INTERP ||
    readelf --dynamic --wide "$bin" | grep -q NEEDED; then
    echo "musl: $bin is not static:" >&2
    readelf --program-headers --dynamic --wide "$bin" >&2
    exit 1
fi
"$bin" --version | grep -q "$target" || {
    echo "musl: $bin --version does not name $target: $("$bin" --version)" >&2
    exit 1
}
size=$(stat -c %s "$bin")
echo "musl: $("$bin" --version), static, $size bytes ($((size / 1024)) KiB)"

# The CLI's oracle tests drive the binary CORONER_TEST_BIN names.
start=$SECONDS
CORONER_TEST_BIN="$PWD/$bin" cargo test --quiet --locked -p coroner --test oracles
echo "musl: oracle tests pass with the static binary ($((SECONDS - start)) s)"
