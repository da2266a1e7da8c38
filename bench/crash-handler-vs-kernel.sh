#!/usr/bin/env bash
# Issue 13 point 4: a crashing process with 1 GiB of data, 1 GiB of zeros and
# an 8 GiB reservation, stored by the kernel as a plain core file vs. by
# `coroner crash-handler` (sparse, then --compress), against `zstd -3` of
# the same core. Prints wall time from the crash to the process's exit (the
# kernel holds the process until the core is written, and with
# core_pipe_limit > 0 until the handler exits), logical size and disk use.
#
# Changes core_pattern: holds the machine-settings lock that coroner's tests
# take (test-support's MachineSettings) exclusively, and restores
# core_pattern and core_pipe_limit on exit whatever happens. Run as root:
#   bench/crash-handler-vs-kernel.sh [ROUNDS]
set -euo pipefail
rounds=${1:-3}
profile=${PROFILE:-release}   # PROFILE=debug uses the dev build (opt-level 1)
here=$(cd "$(dirname "$0")/.." && pwd)
flag=--release; [ "$profile" = debug ] && flag=
cargo build $flag -p coroner --manifest-path "$here/Cargo.toml" >&2
cargo build $flag -p coroner-test-support --manifest-path "$here/Cargo.toml" >&2
coroner="$here/target/$profile/coroner"
crasher=$(ls -t "$here"/target/"$profile"/build/coroner-test-support-*/out/coroner-test-crasher | head -1)
# Set before the directories are made and the lock is waited for (an
# interrupt there must not leave them behind); the settings are written back
# only once saved. The removal comes first: under `set -e` a failed write
# ends the trap, with its status as the script's.
work= cfg= saved=
restore() {
    rm -rf "$work" "$cfg"
    if [ -n "$saved" ]; then
        printf '%s' "$saved_pattern" > /proc/sys/kernel/core_pattern
        printf '%s' "$saved_limit" > /proc/sys/kernel/core_pipe_limit
    fi
}
trap restore EXIT
work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/coroner-crash-bench.XXXXXX")
# core_pattern holds at most 127 bytes: the config goes at a short path.
cfg=$(mktemp -d /run/cb.XXXXXX)

exec 9>/run/lock/coroner-machine-settings.lock
flock -x 9
saved_pattern=$(cat /proc/sys/kernel/core_pattern)
saved_limit=$(cat /proc/sys/kernel/core_pipe_limit)
saved=1

crash() { # prints the crash-to-exit wall time in seconds
    ( cd "$work" && ulimit -c unlimited &&
      "$crasher" --threads 3 --data-mib 1024 --zero-mib 1024 --reserve-gib 8 > "$work/ready" 2>/dev/null ) &
    local child=$!
    until [ -s "$work/ready" ]; do sleep 0.01; done
    local t0; t0=$(date +%s.%N)
    wait "$child" || true
    echo "$(date +%s.%N) - $t0" | bc
}
alloc() { echo $(( $(stat -c %b "$1") * 512 )); }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), cpus: $(nproc)"
for r in $(seq "$rounds"); do
    printf 'core' > /proc/sys/kernel/core_pattern
    rm -f "$work"/core*; : > "$work/ready"
    t=$(crash); core=$(ls "$work"/core* | head -1)
    echo "round $r kernel:  ${t}s size $(stat -c %s "$core") on disk $(alloc "$core")"
    t0=$(date +%s.%N); zstd -q -3 -T2 -f "$core" -o "$work/z.zst"; t1=$(date +%s.%N)
    echo "round $r zstd -3 -T2 of it: $(echo "$t1 - $t0" | bc)s -> $(stat -c %s "$work/z.zst") bytes"
    rm -f "$core" "$work/z.zst"

    for mode in sparse compress; do
        opts=(--dir "$work/store-$mode" --config "$cfg/$mode.json" --keep-free 0 --no-rate-limit)
        [ "$mode" = compress ] && opts+=(--compress)
        "$coroner" crash-handler install "${opts[@]}" > /dev/null
        : > "$work/ready"
        t=$(crash)
        printf '%s' "$saved_pattern" > /proc/sys/kernel/core_pattern
        stored=$(ls "$work/store-$mode"/*/core* | head -1)
        echo "round $r coroner $mode: ${t}s file $(stat -c %s "$stored") on disk $(alloc "$stored")"
        rm -rf "$work/store-$mode"
    done
done
