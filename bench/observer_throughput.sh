#!/usr/bin/env bash
# Exec throughput: the highest exec rate the observer takes with zero loss (every exec
# received, losses counted), and the observer's CPU and RSS at 1,000 exec/s.
# Root.  Usage: bench/observer_throughput.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
secs=${1:-5}
make -s "$build/bin/observer_bench" "$build/bin/observer_true"
b="$build/bin/observer_bench"

echo "== /bin/true (dynamic)"
"$b" throughput 500 1000 2000 max --secs "$secs"
echo "== observer_true (static, cheapest possible exec)"
"$b" throughput 2000 4000 max --secs "$secs" --exe "$build/bin/observer_true"

echo "== observer CPU and RSS at 1000 exec/s (all host execs delivered to the callback)"
fifo=$(mktemp -u) && mkfifo "$fifo"
"$b" hold $((secs + 30)) >"$fifo" &
obs=$!
trap 'kill $obs 2>/dev/null; rm -f "$fifo"' EXIT
exec 3<"$fifo"
read -r line <&3
[ "$line" = ready ] || { echo "observer did not start" >&2; exit 1; }
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$obs/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
"$b" spawn 1000 "$secs"
c1=$(cpu); t1=$(date +%s.%N)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$obs/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$obs/status")
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v rss="$rss" -v hwm="$hwm" 'BEGIN {
  printf "observer at 1000 exec/s: CPU %.2f%% of one core, RSS %d KiB (peak %d KiB)\n",
         (c1 - c0) / hz / (t1 - t0) * 100, rss, hwm }'
