#!/usr/bin/env bash
# What `coroner watch` costs while it only watches: 100 processes sampled
# every second, no trigger firing. Prints the CPU time coroner used (user +
# system, from /proc/PID/stat) over the run, as a share of one core, for
# three ways of naming the 100 processes:
#   --name      a glob matched against every process on the machine each poll
#   --cgroup    the processes of a cgroup v1 memory cgroup (cgroup.procs)
#   --name + --fds + --oom-risk   the costliest samples (fd count, cgroup files)
# Issue 12's target: under 1% of one core.
#
# Usage: bench/watch-sampling-cost.sh [SECONDS] [PROCESSES]   (default 30, 100)
#        COR=target/debug/coroner bench/watch-sampling-cost.sh   (another build)
# Needs: root (for the cgroup), /sys/fs/cgroup/memory (cgroup v1).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_RUN=${1:-30}
N=${2:-100}
if [ -z "${COR:-}" ]; then
    cargo build --release -q -p coroner
    COR=$PWD/target/release/coroner
fi
WORK=$(mktemp -d)
CG=/sys/fs/cgroup/memory/coroner-bench-$$
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -d "$CG" ] && rmdir "$CG" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# 100 idle processes with a name of their own.
cp "$(command -v sleep)" "$WORK/wbench-idle"
mkdir -p "$CG"
for _ in $(seq "$N"); do
    "$WORK/wbench-idle" 100000 &
    PIDS+=($!)
    echo $! > "$CG/cgroup.procs"
done
HZ=$(getconf CLK_TCK)

run() {
    local label=$1; shift
    "$COR" watch "$@" --poll 1s --dir "$WORK" 2>"$WORK/log" &
    local w=$!
    sleep 2 # let it find its processes
    local t0 s0
    t0=$(awk '{print $14+$15}' /proc/$w/stat)
    s0=$(date +%s.%N)
    sleep "$SECONDS_RUN"
    local t1 s1
    t1=$(awk '{print $14+$15}' /proc/$w/stat)
    s1=$(date +%s.%N)
    kill -TERM $w; wait $w 2>/dev/null || true
    local watched
    watched=$(grep -c "watching pid" "$WORK/log" || true)
    awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$HZ" -v l="$label" -v n="$watched" \
        'BEGIN { cpu=(b-a)/hz; wall=e-s; printf "%-34s %3d processes  cpu %.2f s in %.1f s wall = %.2f%% of one core\n", l, n, cpu, wall, 100*cpu/wall }'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
run "--name 'wbench-*' --memory 1T" --name 'wbench-*' --memory 1T
run "--cgroup CG --memory 1T" --cgroup "$CG" --memory 1T
run "--name … --fds 100000 --oom-risk 1" --name 'wbench-*' --fds 100000 --oom-risk 1 --memory 1T
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
