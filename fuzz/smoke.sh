#!/usr/bin/env bash
# Fuzz smoke run: every target for a few seconds, starting from its committed
# corpus (fuzz/corpus/TARGET/: a minimized campaign corpus grown from real
# dumps and /proc files), its seeds (fuzz/seeds/TARGET/: the reproducers of
# past findings) and, for the dump targets, the real dumps the tests keep.
# Fails on the first crash, leak, timeout or out-of-memory. Needs a nightly
# toolchain and cargo-fuzz.
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET]      (default 3: about a minute in all)
#
# New inputs go to a scratch corpus that is removed afterwards, so the
# committed corpora stay as they are; fuzz/README.md says how a campaign
# grows and minimizes them.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-3}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

dumps=../examples/tests/data/inspect
elf_dumps=("$scratch/elf-dumps")
md_dumps=("$scratch/md-dumps")
mkdir -p "$elf_dumps" "$md_dumps"
cp "$dumps"/*.core "$elf_dumps"/
cp "$dumps"/*.dmp ../minidump-format/tests/data/*.minidump "$md_dumps"/

cargo +nightly fuzz build -O -a

# smoke TARGET: run it from its corpora for $seconds; its log is
# $scratch/TARGET.log, shown on failure.
smoke() {
    local target=$1
    local corpus=("$scratch/$target")
    mkdir -p "${corpus[0]}"
    [ -d "corpus/$target" ] && corpus+=("corpus/$target")
    [ -d "seeds/$target" ] && corpus+=("seeds/$target")
    case "$target" in
        inspect_elf | convert_elf_to_minidump_* | core_*) corpus+=("${elf_dumps[@]}") ;;
        inspect_minidump | convert_minidump_to_elf | minidump_*) corpus+=("${md_dumps[@]}") ;;
    esac
    # -rss_limit_mb: a parser must not allocate more than the input justifies.
    if ! cargo +nightly fuzz run -O -a "$target" "${corpus[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=artifacts/ -print_final_stats=1 >"$scratch/$target.log" 2>&1; then
        tail -n 40 "$scratch/$target.log" >&2
        echo "fuzz smoke: $target failed; the input is in fuzz/artifacts/" >&2
        return 1
    fi
    echo "fuzz smoke: $target for ${seconds}s, $(grep -E "^stat::number_of_executed_units" "$scratch/$target.log" || echo "no stats")"
}

# Two targets at a time: CI has two cores, and each target spends its
# seconds on one (24 targets one by one: 105 s; two at a time: 53 s).
mkdir -p artifacts
failed=0
running=0
for target in $(cargo +nightly fuzz list); do
    if [ "$running" -ge 2 ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    smoke "$target" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
[ "$failed" = 0 ] || exit 1
echo "fuzz smoke: all targets clean"
