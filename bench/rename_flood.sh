#!/usr/bin/env bash
# jvmwatchd under a thread-rename flood (root): one unprivileged process (nobody) renames
# a thread to JVM thread names ("VM Thread", "Signal Dispatch", "Attach Listener") at
# RATE/s for SECONDS while real JVMs (`java -version`) start one after another.  Beside
# it, in the same run, the same starts for SECONDS without the flood.  Reports the
# exec -> jvm.start latency p50/p99 of each phase (as bench/daemon_latency.sh measures
# it), the daemon's CPU in each phase, ring-buffer loss (must be 0) and the enrichment
# counters of the final stats event.
#   bench/rename_flood.sh [RATE] [SECONDS]     (default 10000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rate=${1:-10000}
secs=${2:-10}
make -s "$build/bin/jvmwatchd" >/dev/null
tmp=$(mktemp -d)
chmod 755 "$tmp"
log="$tmp/audit.jsonl"
${CC:-cc} -O2 -Wall -Wextra -Werror bench/rename_flood.c -o "$tmp/rename_flood"
"$build/bin/jvmwatchd" --audit-log "$log" 2>"$tmp/stderr" &
d=$!
trap 'kill -TERM $d 2>/dev/null; wait $d 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do grep -q '"daemon.start"' "$log" 2>/dev/null && break; sleep 0.1; done
grep -q '"daemon.start"' "$log" || { echo "jvmwatchd did not start:"; cat "$tmp/stderr"; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$d/stat"; }
now_ns() { date +%s%N; }
# Starts JVMs tagged with phase $1 until $2 seconds have passed; prints the daemon's CPU.
phase() {
  local tag=$1 t0 c0 end
  t0=$(now_ns); c0=$(cpu_ticks); end=$(( t0 + secs * 1000000000 ))
  while [ "$(now_ns)" -lt "$end" ]; do java "-Djw.bench.phase=$tag" -version 2>/dev/null; done
  local t1 c1
  t1=$(now_ns); c1=$(cpu_ticks)
  python3 -c "import os,sys; t=os.sysconf('SC_CLK_TCK'); print(f'{(int(sys.argv[2])-int(sys.argv[1]))/t/((int(sys.argv[4])-int(sys.argv[3]))/1e9)*100:.1f}')" "$c0" "$c1" "$t0" "$t1"
}
quiet_cpu=$(phase quiet)
setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/rename_flood" "$rate" "$secs" >"$tmp/flood.out" &
f=$!
sleep 0.2
flood_cpu=$(phase flood)
wait $f
sleep 1
kill -TERM $d
wait $d || true
python3 - "$log" "$quiet_cpu" "$flood_cpu" "$(cat "$tmp/flood.out")" "$rate" "$secs" <<'PY'
import json, sys, datetime
def ns(t):
    base, frac = t.rstrip("Z").split(".")
    secs = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
    return int(secs) * 10**9 + int(frac.ljust(9, "0"))
lat = {"quiet": [], "flood": []}
stats = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "jvm.start" and "exec_time" in e:
        for tag in lat:
            if f"-Djw.bench.phase={tag}" in e["jvm"]["cmdline"]:
                lat[tag].append((ns(e["time"]) - ns(e["exec_time"])) / 1e6)
    if e["type"] == "stats" and e.get("final"):
        stats = e
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")
print(f"rename flood: {sys.argv[4]} ({sys.argv[5]}/s asked for {sys.argv[6]} s, uid nobody)")
print(f"{'phase':8} {'JVMs':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'daemon CPU %':>13}")
for tag, cpu in (("quiet", sys.argv[2]), ("flood", sys.argv[3])):
    v = lat[tag]
    print(f"{tag:8} {len(v):5d} {pct(v, .5):8.2f} {pct(v, .99):8.2f} {max(v) if v else float('nan'):8.2f} {cpu:>13}")
if lat["quiet"] and lat["flood"]:
    print(f"p50 ratio flood/quiet: {pct(lat['flood'], .5) / pct(lat['quiet'], .5):.2f}")
if stats:
    k, en = stats["kernel"], stats["enrichment"]
    print(f"ring buffer: {k['events']} events, {k['ringbuf_drops']} lost; thread_name events: "
          f"{stats['userspace']['events_thread_name']}")
    print("enrichment: " + ", ".join(f"{key} {en[key]}" for key in en))
    if k["ringbuf_drops"]:
        sys.exit("ring-buffer loss is not 0")
PY
