#!/usr/bin/env bash
# Every published crate as crates.io would serve it: `cargo package` for
# each, then each .crate is unpacked into a scratch directory and
# `cargo test` runs there on its own, the other coroner crates patched
# ([patch.crates-io]) to their unpacked packages, as a user who downloads
# the crates would build them. Catches files missing
# from a package, tests that need the unpublished coroner-test-support, and
# missing LICENSE files. The crates come from `cargo metadata`, so new
# workspace members are covered without editing this script.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/publishable.sh
root="$PWD"

mapfile -t names < <(publishable name)
mapfile -t versions < <(publishable version)
packages=()
for name in "${names[@]}"; do
    packages+=(-p "$name")
done

# --no-verify: cargo's own verification builds each package against the
# others through a local registry, and reuses whatever it compiled for an
# unchanged version number before (registry sources count as immutable), so
# it can verify against stale code. The build and test below are the
# verification instead: from path sources, freshly unpacked.
# --allow-dirty: package the working tree as it is (what .ci/run tests).
cargo package --quiet --no-verify --allow-dirty "${packages[@]}"

# Outside the repository (a package inside it would take the repository's
# workspace for its own); one fixed path per checkout so the shared build
# cache below keeps matching; removed whatever happens.
scratch="${TMPDIR:-/tmp}/coroner-package-test-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
rm -rf "$scratch"
mkdir -p "$scratch/.cargo"
trap 'rm -rf "$scratch"' EXIT

{
    echo '[patch.crates-io]'
    for i in "${!names[@]}"; do
        tar -xzmf "target/package/${names[$i]}-${versions[$i]}.crate" -C "$scratch"
        echo "${names[$i]} = { path = \"$scratch/${names[$i]}-${versions[$i]}\" }"
    done
    # The workspace's dev profile (optimised a little, dependencies a lot):
    # the tests stream large dumps, and the dependencies' builds are shared
    # with the workspace's own in target/.
    echo '[profile.dev]'
    echo 'opt-level = 1'
    echo '[profile.dev.package."*"]'
    echo 'opt-level = 2'
} > "$scratch/.cargo/config.toml"

failed=0
for i in "${!names[@]}"; do
    dir="$scratch/${names[$i]}-${versions[$i]}"
    for file in LICENSE-MIT LICENSE-APACHE README.md; do
        if [ ! -f "$dir/$file" ]; then
            echo "package-test: ${names[$i]}'s package has no $file (copy the root's into its directory)" >&2
            failed=1
        fi
    done
    # Files that name it without the in-repository cfg (see capture/build.rs).
    uses=$(grep -rl --include='*.rs' 'coroner_test_support' "$dir" |
        xargs -r grep -L 'coroner_repo_tests' || true)
    if [ -n "$uses" ]; then
        echo "$uses" >&2
        echo "package-test: ${names[$i]}'s package holds the files above, which use the unpublished" \
            "coroner-test-support: add them to \`exclude\` in its Cargo.toml, make them self-contained," \
            "or (a unit test in src/) put it under cfg(coroner_repo_tests) as capture/build.rs sets" >&2
        failed=1
    fi
done
[ "$failed" = 0 ] || exit 1

# Each package resolves its dependencies to the workspace's locked versions
# (its copy of Cargo.lock, which cargo trims to what the package uses), the
# versions the tests step has compiled: a dependency compiles again here
# only where a package's own feature set differs from the workspace's.
# Left to resolve on their own, the packages picked other versions and
# compiled some twenty crates again (minidump, goblin, criterion ...); a
# fresh resolution is what the msrv step compiles.
for i in "${!names[@]}"; do
    start=$SECONDS
    cp Cargo.lock "$scratch/${names[$i]}-${versions[$i]}/Cargo.lock"
    (cd "$scratch/${names[$i]}-${versions[$i]}" && CARGO_TARGET_DIR="$root/target" cargo test --quiet)
    echo "package-test: ${names[$i]} ${versions[$i]}: tests pass from the package ($((SECONDS - start)) s)"
done
