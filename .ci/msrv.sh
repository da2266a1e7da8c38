#!/usr/bin/env bash
# Compiles every published crate (libraries and the `coroner` binary) with
# the toolchain each one's `rust-version` names, so the declared minimum is a
# fact, not a guess.
#
# `cargo check`, not `build`: what an older Rust rejects (syntax, language
# features, std APIs, a dependency's own rust-version) is rejected by the
# compiler's front end, which check runs in full; code generation and
# linking add nothing to that. From an empty build cache: 84 s for check
# against 161 s for build (2 cores).
#
# The build resolves dependencies the way a user on that toolchain gets them:
# Cargo's MSRV-aware resolver (`incompatible-rust-versions = "fallback"`,
# the default from resolver 3) picks versions whose own rust-version fits.
# The committed Cargo.lock is left alone: the resolution happens in a copy of
# the tracked sources under target/msrv-src (removed afterwards); the build
# cache stays in target/msrv so a re-run only rebuilds coroner's crates.
# Dev-dependencies (test-only tools) are not held to the minimum.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/publishable.sh

mapfile -t names < <(publishable name)
mapfile -t msrvs < <(publishable rust_version)
if [ "${#names[@]}" -ne "${#msrvs[@]}" ] || printf '%s\n' "${msrvs[@]}" | grep -qx 'None'; then
    echo "msrv: every published crate needs a rust-version (workspace inheritance is fine)" >&2
    exit 1
fi
mapfile -t versions < <(printf '%s\n' "${msrvs[@]}" | sort -uV)
root="$PWD"
src="$root/target/msrv-src"
trap 'rm -rf "$src"' EXIT

for msrv in "${versions[@]}"; do
    rustup toolchain list | grep -q "^$msrv-" || rustup toolchain install "$msrv" --profile minimal
    rm -rf "$src"
    mkdir -p "$src"
    git ls-files -z --cached --others --exclude-standard | grep -zv '^fuzz/' |
        xargs -0 cp --parents -t "$src"
    packages=()
    built=()
    for i in "${!names[@]}"; do
        if [ "${msrvs[$i]}" = "$msrv" ]; then
            packages+=(-p "${names[$i]}")
            built+=("${names[$i]}")
        fi
    done
    (
        cd "$src"
        # With the stable cargo: the MSRV-aware resolution (fallback reads
        # the members' rust-version).
        CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update --quiet
        CARGO_TARGET_DIR="$root/target/msrv" cargo "+$msrv" check --quiet --lib --bins "${packages[@]}"
    )
    echo "msrv: ${built[*]} compile with Rust $msrv"
done
