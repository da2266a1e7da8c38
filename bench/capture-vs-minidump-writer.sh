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
# Usage: bench/capture-vs-minidump-writer.sh [ROUNDS] [OUTDIR]   (ROUNDS default 7)
# Needs: root or CAP_SYS_PTRACE, a C compiler.
# Both tools are timed from process start to exit, both fsync their output.
# Targets: coroner's median wall time not above minidump-writer's, and its
# file not more than 1.5x larger.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-7}
OUT=${2:-$(mktemp -d /var/tmp/coroner-mdbench.XXXXXX)}
mkdir -p "$OUT"

cargo build --release -q -p coroner
cargo build --release -q -p coroner-capture --example mdw_dump
COR=$PWD/target/release/coroner
MDW=$PWD/target/release/examples/mdw_dump
TARGET=$OUT/coroner-bench-target
cc -O0 -g -fno-omit-frame-pointer -pthread -Wl,--build-id test-support/helpers/target.c -o "$TARGET"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(df -T "$OUT" | awk 'NR==2 {print $2 " on " $1}')"
echo "command: bench/capture-vs-minidump-writer.sh $ROUNDS"
for THREADS in 8 200; do
    READY=$OUT/ready.$THREADS
    "$TARGET" --threads "$THREADS" >"$READY" &
    TPID=$!
    trap 'kill $TPID 2>/dev/null || true' EXIT
    for _ in $(seq 300); do grep -q READY "$READY" 2>/dev/null && break; sleep 0.1; done
    grep -q READY "$READY" || { echo "workload did not start" >&2; exit 1; }
    echo
    echo "== $THREADS worker threads (+ main): pid $TPID, $(awk '/VmRSS/ {print $2/1024 " MiB RSS"}' /proc/$TPID/status)"
    printf '%5s %12s %12s %12s %12s\n' round "coroner s" "mdw s" "coroner B" "mdw B"
    : >"$OUT/c.t"; : >"$OUT/m.t"; : >"$OUT/c.b"; : >"$OUT/m.b"
    for round in $(seq "$ROUNDS"); do
        rm -f "$OUT/c.dmp" "$OUT/m.dmp"
        sync
        t0=$(now)
        "$COR" capture "$TPID" --format minidump -o "$OUT/c.dmp" --json >"$OUT/c.json"
        t1=$(now)
        cs=$(stat -c %s "$OUT/c.dmp")
        sync
        t2=$(now)
        "$MDW" "$TPID" "$OUT/m.dmp" >/dev/null
        t3=$(now)
        ms=$(stat -c %s "$OUT/m.dmp")
        ct=$(echo "$t1 - $t0" | bc -l); mt=$(echo "$t3 - $t2" | bc -l)
        printf '%5d %12.4f %12.4f %12d %12d\n' "$round" "$ct" "$mt" "$cs" "$ms"
        echo "$ct" >>"$OUT/c.t"; echo "$mt" >>"$OUT/m.t"; echo "$cs" >>"$OUT/c.b"; echo "$ms" >>"$OUT/m.b"
    done
    ct=$(median <"$OUT/c.t"); mt=$(median <"$OUT/m.t"); cb=$(median <"$OUT/c.b"); mb=$(median <"$OUT/m.b")
    echo "median wall: coroner $ct s, minidump-writer $mt s, coroner/mdw $(echo "$ct / $mt" | bc -l | cut -c1-5) (target <= 1)"
    echo "median size: coroner $cb B, minidump-writer $mb B, coroner/mdw $(echo "$cb / $mb" | bc -l | cut -c1-5) (target <= 1.5)"
    kill $TPID; wait $TPID 2>/dev/null || true
done
rm -f "$OUT"/c.dmp "$OUT"/m.dmp
