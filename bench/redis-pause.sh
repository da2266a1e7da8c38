#!/usr/bin/env bash
# The pause a real service feels: capture a redis-server holding about 1 GiB
# of keys with gdb's gcore and with coroner (default, --no-pre-copy, --direct,
# --page-cache, --snapshot) while a client pings it without pause, and print, side by side, the
# longest wait the client saw during each capture and the capture's wall
# time.
#
# Usage: bench/redis-pause.sh [ROUNDS] [OUTDIR]     (ROUNDS default 3)
#        KEYS=3400000 bench/redis-pause.sh           (DEBUG POPULATE count)
# Needs: root or CAP_SYS_PTRACE, redis-server and redis-cli (Debian:
# apt-get install redis-server redis-tools), gdb (gcore), python3,
# ~2.5 GiB free in OUTDIR (default: a temporary directory under /var/tmp)
# and ~3 GiB of free memory.
#
# redis runs on 127.0.0.1 (a free port), without persistence, under
# `nice -n 10`. The client (python, one TCP connection) sends PING and waits
# for +PONG in a loop from 0.3 s before to 0.3 s after each capture; the
# "pause" is the longest single round trip in that window (at the usual
# well under 1 ms, anything longer is the capture holding redis). Wall time
# is measured around each command: coroner's includes writing the file and
# its fsync; gcore does not fsync. Each tool's previous output is deleted,
# then `sync` (not timed), before its run. Tools run in turn within a round.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
OUT=${2:-}
AUTO_OUT=""
if [ -z "$OUT" ]; then OUT=$(mktemp -d /var/tmp/coroner-redis-bench.XXXXXX); AUTO_OUT=$OUT; fi
trap '[ -z "$AUTO_OUT" ] || rm -rf "$AUTO_OUT"' EXIT   # until the full trap below: a failed build must not leave it
KEYS=${KEYS:-3400000}
mkdir -p "$OUT"
for tool in redis-server redis-cli gcore python3; do
    command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

cargo build --release -q -p coroner
COR=$PWD/target/release/coroner
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

nice -n 10 redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --enable-debug-command yes --dir "$OUT" --logfile "$OUT/redis.log" &
RPID=$!
trap 'kill $RPID 2>/dev/null || true; rm -f "$OUT"/core.* "$OUT"/gcore.* "$OUT"/*.json "$OUT"/*.err "$OUT"/pause.txt "$OUT"/table.txt "$OUT"/pinger.py; wait $RPID 2>/dev/null || true; [ -z "$AUTO_OUT" ] || rm -rf "$AUTO_OUT"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$PORT" DEBUG POPULATE "$KEYS" key 200 >/dev/null

# The client: PING round trips until stopped (SIGTERM); prints the longest.
cat >"$OUT/pinger.py" <<'EOF'
import signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
longest = 0.0
while not stop:
    t0 = time.monotonic()
    s.sendall(b"PING\r\n")
    got = b""
    while not got.endswith(b"\r\n"):
        got += s.recv(64)
    longest = max(longest, time.monotonic() - t0)
print(f"{longest:.3f}")
EOF

now() { date +%s.%N; }
# run LABEL COMMAND...: one timed capture with the client pinging throughout.
run() {
    local label=$1; shift
    rm -f "$OUT"/core.* "$OUT"/gcore.*
    sync
    python3 "$OUT/pinger.py" "$PORT" >"$OUT/pause.txt" &
    local ppid=$!
    sleep 0.3
    local t0 t1
    t0=$(now)
    "$@" >"$OUT/$label.json" 2>"$OUT/$label.err" || { echo "$label failed:" >&2; cat "$OUT/$label.err" >&2; }
    t1=$(now)
    sleep 0.3
    kill -TERM $ppid; wait $ppid || true
    local extra=""
    if [ "$label" != gcore ]; then
        extra=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); wb=j.get("write_behind_bytes"); p=j["pre_copy"]; pc=("pre-copy %d MiB, %d MiB clean, tracking pause %.3f s" % (p["bytes_copied"] >> 20, p["bytes_clean"] >> 20, p["tracking_pause_seconds"])) if p["used"] else ("no pre-copy: %s" % p["fallback"] if p["fallback"] else "no pre-copy"); print("frozen %.3f s, %s, %s%s, %s: %s" % (j["frozen_seconds"], pc, j["mode"], "" if wb is None else ", write-behind %d MiB" % (wb >> 20), j["output_path"], j["output_path_reason"]))' "$OUT/$label.json")
    fi
    printf '%6s  %-11s %8.3f %8.3f   %s\n' "$round" "$label" "$(cat "$OUT/pause.txt")" "$(echo "$t1 - $t0" | bc)" "$extra"
    echo "$round $label $(cat "$OUT/pause.txt") $(echo "$t1 - $t0" | bc)" >>"$OUT/table.txt"
}

echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
echo "machine: $(nproc) cpus, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(df -T "$OUT" | awk 'NR==2 {print $2 " on " $1}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "redis: $(redis-server --version | cut -d' ' -f3), pid $RPID, $KEYS keys, $(awk '/VmRSS/ {printf "%.0f MiB RSS", $2/1024}' /proc/$RPID/status)"
echo " round  capture      pause s   wall s"
for round in $(seq "$ROUNDS"); do
    run gcore gcore -o "$OUT/gcore" "$RPID"
    run default "$COR" capture "$RPID" -o "$OUT/core.default" --json
    run no-pre-copy "$COR" capture "$RPID" -o "$OUT/core.no-pre-copy" --json --no-pre-copy
    run direct "$COR" capture "$RPID" -o "$OUT/core.direct" --json --direct
    run page-cache "$COR" capture "$RPID" -o "$OUT/core.page-cache" --json --page-cache
    run snapshot "$COR" capture "$RPID" -o "$OUT/core.snapshot" --json --snapshot
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each tool's pause and wall time over gcore's in the same round.
python3 - "$OUT/table.txt" <<'EOF'
import collections, sys
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, label, pause, wall = line.split()
    rows[rnd][label] = (float(pause), float(wall))
labels = [l for l in next(iter(rows.values())) if l != "gcore"]
print("pause / gcore's pause in the same round (wall / gcore's wall):")
for label in labels:
    cells = ["%.2f (%.2f)" % (r[label][0] / r["gcore"][0], r[label][1] / r["gcore"][1])
             for r in rows.values() if label in r and "gcore" in r]
    print("  %-11s %s" % (label, "  ".join(cells)))
EOF
