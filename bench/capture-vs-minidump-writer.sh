#!/usr/bin/env bash
# Capture the same live helper as a minidump alternately with coroner
# (`capture --format minidump`, stacks only, release build) and with the
# minidump-writer crate (capture/examples/mdw_dump.rs, release build), several
# rounds per thread count in one run, and report medians side by side.
#
# Workload: test-support/helpers/target.c with N parked threads (8 and 200),
# its default 64 MiB pattern, 1 MiB MADV_DONTDUMP region and 8 GiB untouched
# reservation.
#
# Usage: bench/capture-vs-minidump-writer.sh [ROUNDS] [OUTDIR] [PATTERN_MIB]   (ROUNDS default 7)
# Needs: root or CAP_SYS_PTRACE, a C compiler.
# Both tools are timed from process start to exit, both fsync their output;
# minidump-writer runs twice per round: writing OUT in place, and published
# the way coroner publishes a dump (temporary file, fsync, rename, fsync of
# the directory), the like-for-like comparison. coroner also runs twice: by
# default (MADV_DONTDUMP honoured, which needs /proc/PID/smaps and with it a
# kernel walk of every resident page) and with --all (DONTDUMP not honoured,
# as minidump-writer does not; no smaps). The order rotates per round.
# Targets: coroner's median wall time not above minidump-writer's, and its
# file not more than 1.5x larger.
#
# PATTERN_MIB (default 64, the helper's default) sets the resident pattern
# region, to show how the smaps walk grows with resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-7}
OWN_OUT=
if [ -n "${2:-}" ]; then OUT=$2; else OUT=$(mktemp -d /var/tmp/coroner-mdbench.XXXXXX); OWN_OUT=1; fi   # a directory of our own is removed at exit
TPID=
# Runs under `set -e` too: a failing command in it (kill of a workload
# already reaped) would end it early, skip the removal and make it the
# script's exit status, so every step is guarded.
cleanup() {
    if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
    if [ -n "$OWN_OUT" ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT
PATTERN_MIB=${3:-64}
mkdir -p "$OUT"

cargo build --release -q -p coroner
cargo build --release -q -p coroner-capture --example mdw_dump
# Private copies: a rebuild elsewhere in the tree must not swap binaries mid-run.
cp target/release/coroner target/release/examples/mdw_dump "$OUT/"
COR=$OUT/coroner
MDW=$OUT/mdw_dump
TARGET=$OUT/coroner-bench-target
cc -O0 -g -fno-omit-frame-pointer -pthread -Wl,--build-id test-support/helpers/target.c -o "$TARGET"

now() { date +%s.%N; }
# %.15g: awk's default number format (%.6g) would print the mean of two byte
# counts as 1.96649e+06, which bc cannot read.
median() { sort -g | awk '{a[NR]=$1} END {printf "%.15g\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(df -T "$OUT" | awk 'NR==2 {print $2 " on " $1}')"
echo "command: bench/capture-vs-minidump-writer.sh $ROUNDS (pattern $PATTERN_MIB MiB)"
echo "load before: $(cut -d" " -f1-3 /proc/loadavg)"
for THREADS in 8 200; do
    READY=$OUT/ready.$THREADS
    "$TARGET" --threads "$THREADS" --pattern-mib "$PATTERN_MIB" >"$READY" &
    TPID=$!
    for _ in $(seq 300); do grep -q READY "$READY" 2>/dev/null && break; sleep 0.1; done
    grep -q READY "$READY" || { echo "workload did not start" >&2; exit 1; }
    echo
    echo "== $THREADS worker threads (+ main): pid $TPID, $(awk '/VmRSS/ {print $2/1024 " MiB RSS"}' /proc/$TPID/status)"
    printf '%5s %10s %10s %10s %10s %10s %10s\n' round "coroner s" "c --all s" "mdw s" "mdw+at s" "coroner B" "mdw B"
    for f in c l m a; do : >"$OUT/$f.t"; : >"$OUT/$f.i"; done
    : >"$OUT/c.b"; : >"$OUT/m.b"
    for round in $(seq "$ROUNDS"); do
        # Rotate the order so that no tool always runs first (or last).
        case $((round % 3)) in
            0) order="c m a l" ;;
            1) order="m l a c" ;;
            *) order="a c l m" ;;
        esac
        for tool in $order; do
            rm -f "$OUT/$tool.dmp"
            sync
            t0=$(now)
            case $tool in
                c) "$COR" capture "$TPID" --format minidump -o "$OUT/c.dmp" --json >"$OUT/c.json" ;;
                l) "$COR" capture "$TPID" --format minidump -o "$OUT/l.dmp" --json --all >"$OUT/l.json" 2>/dev/null ;;
                m) "$MDW" "$TPID" "$OUT/m.dmp" >"$OUT/m.out" ;;
                a) "$MDW" "$TPID" "$OUT/a.dmp" --atomic >"$OUT/a.out" ;;
            esac
            t1=$(now)
            echo "$t1 - $t0" | bc -l >>"$OUT/$tool.t"
            # In-process time (from the tool's own clock, without exec and
            # dynamic loading): coroner's JSON wall_seconds, mdw_dump's first field.
            case $tool in
                c | l) python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$OUT/$tool.json" >>"$OUT/$tool.i" ;;
                *) cut -d' ' -f1 "$OUT/$tool.out" >>"$OUT/$tool.i" ;;
            esac
        done
        stat -c %s "$OUT/c.dmp" >>"$OUT/c.b"
        stat -c %s "$OUT/m.dmp" >>"$OUT/m.b"
        printf '%5d %10.4f %10.4f %10.4f %10.4f %10d %10d\n' "$round" "$(tail -1 "$OUT/c.t")" \
            "$(tail -1 "$OUT/l.t")" "$(tail -1 "$OUT/m.t")" "$(tail -1 "$OUT/a.t")" "$(tail -1 "$OUT/c.b")" "$(tail -1 "$OUT/m.b")"
    done
    ct=$(median <"$OUT/c.t"); lt=$(median <"$OUT/l.t"); mt=$(median <"$OUT/m.t"); at=$(median <"$OUT/a.t")
    cb=$(median <"$OUT/c.b"); mb=$(median <"$OUT/m.b")
    ratio() { echo "$1 / $2" | bc -l | awk '{printf "%.2f", $1}'; }
    echo "median wall: coroner $ct s, coroner --all $lt s; minidump-writer $mt s (fsync only), $at s (published like coroner: tmp + fsync + rename + dir fsync)"
    echo "  coroner/mdw $(ratio "$ct" "$mt"), coroner/mdw-atomic $(ratio "$ct" "$at"); coroner --all/mdw $(ratio "$lt" "$mt"), coroner --all/mdw-atomic $(ratio "$lt" "$at") (target <= 1)"
    ci=$(median <"$OUT/c.i"); li=$(median <"$OUT/l.i"); mi=$(median <"$OUT/m.i"); ai=$(median <"$OUT/a.i")
    echo "median in-process: coroner $ci s, coroner --all $li s; minidump-writer $mi s, $ai s (atomic); coroner/mdw-atomic $(ratio "$ci" "$ai"), coroner --all/mdw-atomic $(ratio "$li" "$ai")"
    echo "median size: coroner $cb B, minidump-writer $mb B, coroner/mdw $(ratio "$cb" "$mb") (target <= 1.5)"
    kill $TPID; wait $TPID 2>/dev/null || true
    TPID=
done
rm -f "$OUT"/c.dmp "$OUT"/l.dmp "$OUT"/m.dmp "$OUT"/a.dmp "$OUT"/coroner "$OUT"/mdw_dump
