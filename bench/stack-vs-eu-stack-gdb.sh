#!/usr/bin/env bash
# Every thread's backtrace of the same process, side by side in one run:
# `coroner stack` (release build) against `eu-stack` and
# `gdb -batch -ex 'thread apply all bt'`, on an ELF core of it and on the
# live process, alternating tools round by round; medians reported.
#
# Workload (test-support/helpers/stack_target.c, -O2 -fomit-frame-pointer
# -g, so every tool must unwind by CFI): 100 worker threads parked at the
# end of call chains 5-14 frames deep (recursion, an inlined function, a
# callback from libc's qsort, tail calls), plus a "gap-probe" thread that
# wakes every 100 us and keeps the longest gap between two wake-ups: the
# time a tool held the process stopped, seen from inside the process, the
# same way for all three tools. The probe's baseline (a round with no
# tool) is reported too: on a loaded machine its wake-ups are late without
# any tool.
#
# Usage: bench/stack-vs-eu-stack-gdb.sh [ROUNDS]        (default 5)
# Needs: root or CAP_SYS_PTRACE, gdb, eu-stack (elfutils), a C compiler,
# python3. libc debug info (libc6-dbg) makes gdb and coroner read DWARF
# for libc too; eu-stack is run with -s (source lines) -i (inlines) so it
# does comparable work. Goal (issue 14): coroner faster than both, in wall
# time and, live, in time the process is held.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
OUT=$(mktemp -d /var/tmp/coroner-stack-bench.XXXXXX)
TPID=
# Set before anything can fail, so that OUT goes on every exit path; every
# step guarded (a failure would end it early under `set -e`).
cleanup() {
    if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; fi
    rm -rf "$OUT"
}
trap cleanup EXIT
for tool in gdb eu-stack python3; do
    command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

cargo build --release -q -p coroner
COR=$PWD/target/release/coroner
TARGET=$OUT/coroner-stack-target
cc -O2 -g -fomit-frame-pointer -pthread -Wl,--build-id test-support/helpers/stack_target.c -o "$TARGET"

"$TARGET" --threads 100 --gap-probe >"$OUT/ready" &
TPID=$!
for _ in $(seq 300); do grep -q READY "$OUT/ready" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$OUT/ready" || { echo "workload did not start" >&2; exit 1; }
GAP=$(sed -n 's/.*gap=\(0x[0-9a-f]*\).*/\1/p' "$OUT/ready")
sleep 0.5

# Read or reset the probe's longest gap (ns) through /proc/PID/mem.
gap() {
    python3 - "$TPID" "$GAP" "$1" <<'EOF'
import struct, sys
pid, addr, op = int(sys.argv[1]), int(sys.argv[2], 16), sys.argv[3]
with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
    mem.seek(addr)
    if op == "reset":
        mem.write(struct.pack("<Q", 0))
    else:
        print("%.2f" % (struct.unpack("<Q", mem.read(8))[0] / 1e6))
EOF
}

"$COR" capture "$TPID" -o "$OUT/core" >/dev/null

now() { date +%s.%N; }
results=$OUT/results.tsv
: >"$results"
echo "machine: $(nproc) cpus, $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "workload: pid $TPID, $(ls /proc/$TPID/task | wc -l) threads; core $(du -h --apparent-size "$OUT/core" | cut -f1)"

run() { # name mode command...
    local name=$1 mode=$2; shift 2
    gap reset
    local t0 t1
    t0=$(now)
    "$@" >"$OUT/$name.$mode.out" 2>&1 || { echo "$name ($mode) failed:" >&2; tail -5 "$OUT/$name.$mode.out" >&2; exit 1; }
    t1=$(now)
    sleep 0.05 # let the probe wake once more after the tool let go
    printf '%s\t%s\t%s\t%s\n' "$name" "$mode" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')" "$(gap read)" >>"$results"
}

for round in $(seq "$ROUNDS"); do
    # Baseline: the probe's longest gap over 0.3 s with no tool at all.
    gap reset; sleep 0.3; printf 'none\tbaseline\t0\t%s\n' "$(gap read)" >>"$results"
    run coroner core "$COR" stack "$OUT/core"
    run eu-stack core eu-stack -s -i --core="$OUT/core" -e "$TARGET"
    run gdb core gdb -batch -nx -ex 'thread apply all bt' "$TARGET" "$OUT/core"
    run coroner live "$COR" stack "$TPID"
    run eu-stack live eu-stack -s -i -p "$TPID"
    run gdb live gdb -batch -nx -p "$TPID" -ex 'thread apply all bt'
    grep -q "frozen for" "$OUT/coroner.live.out" &&
        sed -n 's/.*frozen for \([0-9.]*\) ms.*/\1/p' "$OUT/coroner.live.out" >>"$OUT/frozen.txt"
done

# Every tool must have seen every thread in the workload's functions.
for f in coroner.core coroner.live eu-stack.core eu-stack.live gdb.core gdb.live; do
    n=$(grep -c 'stack_park' "$OUT/$f.out" || true)
    [ "$n" -ge 100 ] || { echo "$f: only $n stack_park frames" >&2; exit 1; }
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "per round (tool, input, wall ms, longest gap ms):"
cat "$results"
python3 - "$results" "$OUT/frozen.txt" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
frozen = [float(x) for x in open(sys.argv[2]) if x.strip()]
def med(xs): return statistics.median(xs) if xs else float("nan")
print("%-9s %-8s %14s %22s" % ("tool", "input", "wall ms (med)", "longest gap ms (med)"))
for mode in ("baseline", "core", "live"):
    for tool in ("none", "coroner", "eu-stack", "gdb"):
        sel = [r for r in rows if r[0] == tool and r[1] == mode]
        if not sel: continue
        wall = med([float(r[2]) for r in sel]); gap = med([float(r[3]) for r in sel])
        print("%-9s %-8s %14.1f %22.2f   (%d rounds)" % (tool, mode, wall, gap, len(sel)))
print("coroner's own frozen_for (live), median: %.2f ms" % med(frozen))
EOF
