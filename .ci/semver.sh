#!/usr/bin/env bash
# Semver check of the library crates' public API against the last release
# tag (vX.Y.Z): cargo-semver-checks builds both rustdoc JSONs and reports
# every breaking change the version number does not allow. Nothing has been
# released yet; until a tag exists there is no baseline and this says so.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/publishable.sh

if ! tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
    echo "semver: no release tag (vX.Y.Z) yet, so no public API to compare with"
    exit 0
fi
command -v cargo-semver-checks >/dev/null 2>&1 || cargo install --locked cargo-semver-checks
packages=()
while read -r name; do
    packages+=(-p "$name")
done < <(publishable name lib) # the CLI has no library API
cargo semver-checks check-release --baseline-rev "$tag" "${packages[@]}"
