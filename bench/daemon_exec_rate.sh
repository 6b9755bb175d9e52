#!/usr/bin/env bash
# jvmwatchd under exec load (root): daemon CPU and RSS at 1,000 exec/s, then unpaced and
# paced storms with what the stream's stats say was seen and lost (kernel ring buffer,
# writer queue).  The whole daemon runs (decoding, process table, /proc reads for new
# cgroups, writer), not only the observer.
#   bench/daemon_exec_rate.sh [SECS]      (default 5 s per phase)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
secs=${1:-5}
make -s "$build/bin/jvmwatchd" "$build/bin/observer_bench" "$build/bin/observer_true" >/dev/null
b="$build/bin/observer_bench"
tmp=$(mktemp -d)
log="$tmp/audit.jsonl"
"$build/bin/jvmwatchd" --audit-log "$log" --stats-interval 1 2>"$tmp/stderr" &
d=$!
trap 'kill -TERM $d 2>/dev/null; wait $d 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do grep -q '"daemon.start"' "$log" 2>/dev/null && break; sleep 0.1; done
grep -q '"daemon.start"' "$log" || { echo "jvmwatchd did not start:"; cat "$tmp/stderr"; exit 1; }

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$d/stat"; }
# From the newest stats event: execs seen, ring-buffer drops, writer-queue drops.
counters() {
  sleep 1.5   # let a fresh periodic stats event be written
  grep '"type":"stats"' "$log" | tail -1 | python3 -c "import json,sys; e=json.load(sys.stdin)
print(e['userspace']['events_exec'], e['kernel']['ringbuf_drops'], e['drops']['sink_queue'])"
}

c0=$(cpu); t0=$(date +%s.%N)
"$b" spawn 1000 "$secs" >/dev/null
c1=$(cpu); t1=$(date +%s.%N)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$d/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$d/status")
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v rss="$rss" -v hwm="$hwm" 'BEGIN {
  printf "jvmwatchd at 1000 exec/s: CPU %.2f%% of one core, RSS %d KiB (peak %d KiB)\n",
         (c1 - c0) / hz / (t1 - t0) * 100, rss, hwm }'

for rate in 2000 4000 max; do
  for exe in /bin/true "$build/bin/observer_true"; do
    read -r seen0 lost0 q0 < <(counters)
    r=$([ "$rate" = max ] && echo 0 || echo "$rate")
    made=$("$b" spawn "$r" "$secs" --exe "$exe" | awk '{print $2}')
    read -r seen1 lost1 q1 < <(counters)
    echo "rate $rate ($exe): spawned $made in ${secs}s = $((made / secs))/s; daemon saw $((seen1 - seen0)) execs (all host execs), ring-buffer lost $((lost1 - lost0)), writer queue dropped $((q1 - q0))"
  done
done
