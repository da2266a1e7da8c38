#!/usr/bin/env bash
# Capture the same live workload alternately with coroner (release build) and
# gdb's gcore, several rounds in one run, and report medians.
#
# Workload (test-support/helpers/target.c): 8 parked threads, 1 GiB of
# non-zero pattern data, 1 GiB of touched zero pages, 8 GiB untouched
# MAP_NORESERVE reservation.
#
# Usage: bench/capture-vs-gcore.sh [ROUNDS] [OUTDIR]     (ROUNDS default 5)
#        CORONER_ARGS=--direct bench/capture-vs-gcore.sh  (extra capture options)
# Needs: root or CAP_SYS_PTRACE, gdb (gcore), /usr/bin/time, a C compiler,
# ~13 GiB free in OUTDIR (default: a temporary directory under /var/tmp).
# Each capture is timed from start to exit (coroner's includes fsync and
# rename; gcore does not fsync). Each tool deletes its own previous output
# just before its own run, followed by a `sync` (not timed): deleting a
# 10 GiB gcore file on a `discard` mount keeps the disk busy for many
# seconds, and that cost belongs to the tool that wrote it.
# Targets: coroner median wall ≥ 10× shorter than gcore's; coroner peak RSS
# ≤ 16 MiB with --direct, and ≤ the write-behind `--json` reports (at most
# 1 GiB) + 16 MiB by default (see README: what the pause consists of);
# coroner's allocated disk ≤ 1.1 × the non-zero data (1 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
OWN_OUT=
if [ -n "${2:-}" ]; then OUT=$2; else OUT=$(mktemp -d /var/tmp/coroner-bench.XXXXXX); OWN_OUT=1; fi   # a directory of our own is removed at exit
TPID=
# Set before anything can fail, so that OUT goes on every exit path. Runs
# under `set -e` too, where a failing step would end it early and become
# the script's exit status: every step is guarded.
cleanup() {
    if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
    rm -f "$OUT"/bench.core* "$OUT"/gcore.*
    if [ -n "$OWN_OUT" ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT
PATTERN_MIB=1024
mkdir -p "$OUT"

command -v gcore >/dev/null || { echo "gcore (gdb) is required" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 1; }

cargo build --release -q -p coroner
COR=$PWD/target/release/coroner
TARGET=$OUT/coroner-bench-target
cc -O0 -g -fno-omit-frame-pointer -pthread -Wl,--build-id test-support/helpers/target.c -o "$TARGET"

READY=$OUT/ready
"$TARGET" --threads 8 --pattern-mib $PATTERN_MIB --zero-mib 1024 --reserve-gib 8 >"$READY" &
TPID=$!
for _ in $(seq 300); do grep -q READY "$READY" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$READY" || { echo "workload did not start" >&2; exit 1; }

now() { date +%s.%N; }
results=$OUT/results.tsv
: >"$results"
echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(df -T "$OUT" | awk 'NR==2 {print $2 " on " $1}')"
echo "workload: pid $TPID, $(awk '/VmRSS/ {print $2/1024 " MiB RSS"}' /proc/$TPID/status), $(awk '/VmSize/ {print $2/1048576 " GiB virtual"}' /proc/$TPID/status)"
for round in $(seq "$ROUNDS"); do
    rm -f "$OUT/bench.core"   # coroner's own previous output
    sync                      # settle writeback (not timed)
    t0=$(now)
    /usr/bin/time -f '%M' -o "$OUT/time.txt" "$COR" capture "$TPID" -o "$OUT/bench.core" --json ${CORONER_ARGS:-} >"$OUT/coroner.json"
    t1=$(now)
    rss_kib=$(tail -1 "$OUT/time.txt")
    cor_alloc=$(( $(stat -c '%b * %B' "$OUT/bench.core") ))
    cor_size=$(stat -c %s "$OUT/bench.core")
    frozen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["frozen_seconds"])' "$OUT/coroner.json")
    [ "$round" = 1 ] && python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("coroner output path: %s (%s)" % (j["output_path"], j["output_path_reason"]))' "$OUT/coroner.json"

    rm -f "$OUT"/gcore.*      # gcore's own previous output
    sync
    t2=$(now)
    gcore -o "$OUT/gcore" "$TPID" >/dev/null 2>&1
    t3=$(now)
    g_alloc=$(( $(stat -c '%b * %B' "$OUT/gcore.$TPID") ))
    g_size=$(stat -c %s "$OUT/gcore.$TPID")

    kill -0 "$TPID" || { echo "workload died" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" \
        "$(echo "$t1 - $t0" | bc)" "$frozen" "$rss_kib" "$cor_alloc" "$cor_size" \
        "$(echo "$t3 - $t2" | bc)" "$g_alloc" "$g_size" >>"$results"
done

python3 - "$results" "$PATTERN_MIB" <<'PY'
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]) if l.strip()]
pattern = int(sys.argv[2]) << 20
print(f"{'round':>5} {'coroner s':>10} {'frozen s':>9} {'RSS MiB':>8} {'disk MiB':>9} {'size MiB':>9} {'gcore s':>8} {'g disk MiB':>10} {'g size MiB':>10}")
for r in rows:
    print(f"{r[0]:>5} {float(r[1]):>10.3f} {float(r[2]):>9.3f} {int(r[3])/1024:>8.1f} {int(r[4])/2**20:>9.1f} {int(r[5])/2**20:>9.1f} {float(r[6]):>8.3f} {int(r[7])/2**20:>10.1f} {int(r[8])/2**20:>10.1f}")
cor = statistics.median(float(r[1]) for r in rows)
gc = statistics.median(float(r[6]) for r in rows)
rss = max(int(r[3]) for r in rows) / 1024
disk = max(int(r[4]) for r in rows)
print(f"median wall: coroner {cor:.3f} s, gcore {gc:.3f} s, ratio {gc / cor:.1f}x (target >= 10x)")
print(f"median frozen: {statistics.median(float(r[2]) for r in rows):.3f} s")
print(f"coroner peak RSS: {rss:.1f} MiB (target <= 16 MiB with --direct, <= write-behind + 16 MiB by default)")
print(f"coroner allocated disk: {disk / 2**20:.1f} MiB = {disk / pattern:.3f} x non-zero data (target <= 1.1)")
PY
