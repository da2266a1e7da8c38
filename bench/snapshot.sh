#!/usr/bin/env bash
# `coroner capture --snapshot` against the plain capture (and gcore), in one
# run, side by side (issue 11).
#
# 1. The main workload (1 GiB data + 1 GiB touched zeros + 8 GiB untouched
#    reservation, 4 KiB pages): ROUNDS alternating plain / --snapshot
#    captures; for each, frozen_seconds from --json, the longest stall the
#    target's own 1 ms heartbeat thread saw during the capture, and wall time.
#    Targets: snapshot frozen <= 1/10 of plain, the heartbeat agrees, wall
#    within 1.3x of plain.
# 2. Frozen time per GiB resident at SIZES GiB (default "1 4 16"), with
#    4 KiB pages and with transparent huge pages: plain, --snapshot and
#    gcore (gcore stops the process for its whole run; its pause is the
#    heartbeat's longest stall).
# 3. Extra memory the system used while a --snapshot capture ran and the
#    target kept rewriting its data (WRITE_MIB_S, default 256 MiB/s): the
#    largest drop of MemAvailable (sampled every 10 ms) from before the
#    capture, against the same for a plain capture.
#
# Usage: bench/snapshot.sh [ROUNDS] [OUTDIR]       (ROUNDS default 3)
#        SIZES="1 4" GCORE=0 bench/snapshot.sh     (smaller run, no gcore)
#        BASELINE=/path/to/older/coroner bench/snapshot.sh
#            (part 1 also runs that binary's --snapshot, as "baseline",
#             in the same rounds: before/after a change in one run)
#        MAIN_MIB=64 SIZES= ROUNDS=1 bench/snapshot.sh   (smoke run)
# Needs: root or CAP_SYS_PTRACE, a C compiler, python3, gdb for gcore, and
# free disk in OUTDIR (default a temporary directory under /var/tmp) for
# the largest dump; memory for the largest workload plus its copy-on-write.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
OWN_OUT=
if [ -n "${2:-}" ]; then OUT=$2; else OUT=$(mktemp -d /var/tmp/coroner-snapshot-bench.XXXXXX); OWN_OUT=1; fi   # a directory of our own is removed at exit
SIZES=${SIZES-1 4 16}
GCORE=${GCORE:-1}
WRITE_MIB_S=${WRITE_MIB_S:-256}
BASELINE=${BASELINE:-}
MAIN_MIB=${MAIN_MIB:-1024}   # data (and zeros) of parts 1 and 3; smaller for a smoke run
mkdir -p "$OUT"

WPID=
# Set before anything can fail, so that OUT goes on every exit path. Runs
# under `set -e` too, where a failing step (`[ -n "" ]` as the last command,
# with an OUTDIR given) would become the script's exit status: every step
# is guarded.
cleanup() {
    if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null || true; fi
    rm -f "$OUT"/dump "$OUT"/gcore.* "$OUT"/stall "$OUT"/ready
    if [ -n "$OWN_OUT" ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT

cargo build --release -q -p coroner
COR=$PWD/target/release/coroner
WL=$OUT/snapshot-workload
cc -O2 -pthread bench/snapshot-workload.c -o "$WL"

# start_workload DATA_MIB ZERO_MIB RESERVE_GIB HUGE WRITE_MIB_S
start_workload() {
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null || true
    "$WL" "$@" "$OUT/stall" >"$OUT/ready" &
    WPID=$!
    for _ in $(seq 600); do grep -q READY "$OUT/ready" 2>/dev/null && return; sleep 0.1; done
    echo "workload did not start" >&2; exit 1
}
now() { date +%s.%N; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT/c.json" "$1"; }
stall_ms() { python3 -c 'import sys; print(int(open(sys.argv[1]).read() or 0) / 1000)' "$OUT/stall"; }

# capture MODE (plain|snapshot|gcore): prints "wall frozen stall_ms"
capture() {
    rm -f "$OUT/dump" "$OUT"/gcore.*; sync
    sleep 0.2; kill -USR1 "$WPID"; sleep 0.05
    local t0 t1 frozen
    t0=$(now)
    case $1 in
        plain) "$COR" capture "$WPID" -o "$OUT/dump" --json >"$OUT/c.json"; frozen=$(json frozen_seconds) ;;
        snapshot) "$COR" capture "$WPID" -o "$OUT/dump" --json --snapshot=require >"$OUT/c.json"; frozen=$(json frozen_seconds) ;;
        baseline) "$BASELINE" capture "$WPID" -o "$OUT/dump" --json --snapshot=require >"$OUT/c.json"; frozen=$(json frozen_seconds) ;;
        gcore) gcore -o "$OUT/gcore" "$WPID" >/dev/null 2>&1; frozen=- ;;
    esac
    t1=$(now)
    sleep 0.05
    echo "$(echo "$t1 - $t0" | bc) $frozen $(stall_ms)"
}

echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

echo
echo "## 1. $MAIN_MIB MiB data + $MAIN_MIB MiB zeros + 8 GiB reservation, 4 KiB pages"
start_workload "$MAIN_MIB" "$MAIN_MIB" 8 0 0
echo "round mode     wall_s  frozen_s  stall_ms"
: >"$OUT/main.tsv"
for r in $(seq "$ROUNDS"); do
    for mode in plain snapshot ${BASELINE:+baseline}; do
        read -r wall frozen stall < <(capture $mode)
        printf '%5s %-8s %7.3f %9.4f %9.1f\n' "$r" "$mode" "$wall" "$frozen" "$stall"
        printf '%s\t%s\t%s\t%s\n' "$mode" "$wall" "$frozen" "$stall" >>"$OUT/main.tsv"
    done
done
python3 - "$OUT/main.tsv" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda mode, i: statistics.median(float(r[i]) for r in rows if r[0] == mode)
pf, sf = med("plain", 2), med("snapshot", 2)
pw, sw = med("plain", 1), med("snapshot", 1)
ps, ss = med("plain", 3), med("snapshot", 3)
print(f"median frozen: plain {pf:.4f} s, snapshot {sf:.4f} s = {sf / pf:.3f} of plain (target <= 0.1)")
print(f"median longest heartbeat stall: plain {ps:.1f} ms, snapshot {ss:.1f} ms")
print(f"median wall: plain {pw:.3f} s, snapshot {sw:.3f} s = {sw / pw:.2f}x (target <= 1.3x)")
if any(r[0] == "baseline" for r in rows):
    bw, bf = med("baseline", 1), med("baseline", 2)
    print(f"median baseline --snapshot: wall {bw:.3f} s = {bw / pw:.2f}x of plain, frozen {bf:.4f} s")
PY

echo
echo "## 2. frozen time per GiB resident (seconds per GiB; gcore: its whole run, as the heartbeat saw it)"
echo "GiB pages  plain_frozen  snapshot_frozen  snapshot_stall  gcore_stall"
for size in $SIZES; do
    for huge in 0 1; do
        start_workload $((size * 1024)) 0 0 "$huge" 0
        read -r _ pf _ < <(capture plain)
        read -r _ sf ss < <(capture snapshot)
        gs=-
        if [ "$GCORE" = 1 ] && command -v gcore >/dev/null; then
            read -r _ _ gs < <(capture gcore)
            gs=$(echo "scale=4; $gs / 1000 / $size" | bc)
        fi
        printf '%3s %-5s %13.4f %16.5f %15.5f %12s\n' "$size" "$([ "$huge" = 1 ] && echo thp || echo 4k)" \
            "$(echo "$pf / $size" | bc -l)" "$(echo "$sf / $size" | bc -l)" \
            "$(echo "$ss / 1000 / $size" | bc -l)" "$gs"
    done
done

echo
echo "## 3. extra memory while the target rewrites its $MAIN_MIB MiB at $WRITE_MIB_S MiB/s"
start_workload "$MAIN_MIB" 0 0 0 "$WRITE_MIB_S"
for mode in plain snapshot; do
    before=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
    ( while :; do awk '/MemAvailable/ {print $2}' /proc/meminfo; sleep 0.01; done ) >"$OUT/avail" &
    sampler=$!
    read -r wall frozen _ < <(capture $mode)
    kill $sampler; wait $sampler 2>/dev/null || true
    min=$(sort -n "$OUT/avail" | head -1)
    printf '%-8s wall %.3f s, frozen %.4f s, MemAvailable fell by up to %d MiB\n' "$mode" "$wall" "$frozen" $(( (before - min) / 1024 ))
done
echo "(MemAvailable also moves with the page cache of the dump being written and with other processes; compare the two lines)"
