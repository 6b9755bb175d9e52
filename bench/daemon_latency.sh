#!/usr/bin/env bash
# jvmwatchd detection latency (root): for N starts of `java -version`, the time from the
# kernel's exec timestamp (jvm.start "exec_time") to the moment the daemon emitted the
# jvm.start event (envelope "time"): ring buffer, decoding, jvm::inspect() of /proc and
# the release file, the writer queue.  p50 / p99 / max.
#   bench/daemon_latency.sh [N]     (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
n=${1:-30}
make -s "$build/bin/jvmwatchd" >/dev/null
tmp=$(mktemp -d)
log="$tmp/audit.jsonl"
"$build/bin/jvmwatchd" --audit-log "$log" 2>"$tmp/stderr" &
d=$!
trap 'kill -TERM $d 2>/dev/null; wait $d 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do grep -q '"daemon.start"' "$log" 2>/dev/null && break; sleep 0.1; done
grep -q '"daemon.start"' "$log" || { echo "jvmwatchd did not start:"; cat "$tmp/stderr"; exit 1; }
for _ in $(seq "$n"); do java -Djw.bench.latency=1 -version 2>/dev/null; done
sleep 1
python3 - "$log" "$n" <<'PY'
import json, sys, datetime
def ns(t):
    # RFC 3339 with 9 fractional digits, UTC
    base, frac = t.rstrip("Z").split(".")
    secs = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
    return int(secs) * 10**9 + int(frac.ljust(9, "0"))
lat = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "jvm.start" and "-Djw.bench.latency=1" in e["jvm"]["cmdline"] and "exec_time" in e:
        lat.append((ns(e["time"]) - ns(e["exec_time"])) / 1e6)
lat.sort()
if not lat:
    sys.exit("no jvm.start events")
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"jvm.start latency over {len(lat)}/{sys.argv[2]} JVM starts: p50 {pick(0.5):.2f} ms, "
      f"p99 {pick(0.99):.2f} ms, max {lat[-1]:.2f} ms (exec -> event emitted)")
PY
