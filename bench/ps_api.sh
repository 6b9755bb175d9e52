#!/bin/bash
# `jvmwatch ps` through the daemon's local API vs the /proc scan (`jvmwatch ps --proc`),
# with N small JVMs running, in one hyperfine run (same JVMs, same machine state).
# Prints both means and the ratio (proc / api: how many times faster the API answers).
# Usage: bench/ps_api.sh [JVMS (default 200)] [RUNS (default 30)]   (root, hyperfine)
# Starting the JVMs takes a while on a small machine: they start in batches of 20.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
RUNS=${2:-30}
JW=$PWD/build/bin/jvmwatch
JWD=$PWD/build/bin/jvmwatchd
CLASSES=$PWD/build/java/classes
for f in "$JW" "$JWD" "$CLASSES/jw/test/Sleeper.class"; do
  [ -e "$f" ] || { echo "ps_api.sh: $f missing (make all)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "ps_api.sh: needs root (the daemon)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "ps_api.sh: needs hyperfine" >&2; exit 2; }

WORK=$(mktemp -d /tmp/jvmwatch-bench.XXXXXX)
PIDS=()
DPID=""
cleanup() {
  [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
    rm -f "/tmp/.java_pid$p"
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

SOCK=$WORK/run/api.sock
"$JWD" --api-socket "$SOCK" --audit-log "$WORK/audit.jsonl" 2>"$WORK/jvmwatchd.err" &
DPID=$!
for _ in $(seq 1 600); do [ -S "$SOCK" ] && grep -q daemon.start "$WORK/audit.jsonl" 2>/dev/null && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "ps_api.sh: the daemon did not start:" >&2; cat "$WORK/jvmwatchd.err" >&2; exit 1; }

echo "starting $N JVMs (batches of 20)..."
i=0
while [ "$i" -lt "$N" ]; do
  b=0
  while [ "$b" -lt 20 ] && [ "$i" -lt "$N" ]; do
    setsid java -Xmx16m -Xss256k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
      -cp "$CLASSES" jw.test.Sleeper 3600 >"$WORK/jvm$i.out" 2>&1 </dev/null &
    PIDS+=($!)
    disown $!   # no "Killed" lines at cleanup
    i=$((i + 1)); b=$((b + 1))
  done
  for j in $(seq $((i - b)) $((i - 1))); do
    for _ in $(seq 1 600); do grep -q ready "$WORK/jvm$j.out" 2>/dev/null && break; sleep 0.05; done
  done
done
# Until the daemon's view holds them all (enrichment runs off the event path).
rows=0
for _ in $(seq 1 300); do
  rows=$("$JW" ps --json --socket "$SOCK" | grep -o '"pid":' | wc -l)
  [ "$rows" -ge "$N" ] && break
  sleep 0.2
done
proc_rows=$("$JW" ps --proc | tail -n +2 | wc -l)
echo "daemon view: $rows JVMs; /proc scan: $proc_rows JVMs"

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/h.json" \
  -n api "$JW ps --socket $SOCK" \
  -n proc "$JW ps --proc" >"$WORK/hyperfine.out" 2>&1 || { cat "$WORK/hyperfine.out"; exit 1; }
python3 - "$WORK/h.json" "$N" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
api, proc = r["api"], r["proc"]
print(f"jvmwatch ps with {sys.argv[2]} JVMs ({len(api['times'])} runs each):")
print(f"  via the API   mean {api['mean']*1e3:8.2f} ms  (median {api['median']*1e3:.2f}, user {api['user']*1e3:.2f}, system {api['system']*1e3:.2f})")
print(f"  /proc scan    mean {proc['mean']*1e3:8.2f} ms  (median {proc['median']*1e3:.2f}, user {proc['user']*1e3:.2f}, system {proc['system']*1e3:.2f})")
print(f"  ratio proc/api: {proc['mean']/api['mean']:.1f}x")
PY
