#!/usr/bin/env bash
# Overhead of the observer on a syscall-heavy loop (getppid + 1-byte write to /dev/null):
# without observer, default mode, deep mode, alternated in one run for ROUNDS rounds.
# Reports the median CPU ns per loop round (the loop's own user+system time, so other
# tenants of a shared machine disturb it less) and the slowdown against the baseline.
# Root.  Usage: bench/observer_overhead.sh [ROUNDS] [ITER]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rounds=${1:-9}
iter=${2:-2000000}
make -s "$build/bin/observer_bench" "$build/bin/observer_syscall_loop"
loop="$build/bin/observer_syscall_loop"

obs_pid=""
cleanup() { [ -n "$obs_pid" ] && kill "$obs_pid" 2>/dev/null && wait "$obs_pid" 2>/dev/null; true; }
trap cleanup EXIT

# Runs the loop with an observer in MODE ("" = none) and prints ns per round.
run_with() {
  local mode=$1 fifo out
  if [ -z "$mode" ]; then "$loop" "$iter"; return; fi
  fifo=$(mktemp -u) && mkfifo "$fifo"
  "$build/bin/observer_bench" hold 3600 $mode >"$fifo" &
  obs_pid=$!
  read -r line <"$fifo"   # "ready": attached
  [ "$line" = ready ] || { echo "observer did not start: $line" >&2; exit 1; }
  out=$("$loop" "$iter")
  kill "$obs_pid"; wait "$obs_pid" 2>/dev/null || true; obs_pid=""
  rm -f "$fifo"
  echo "$out"
}

declare -a base def deep
for r in $(seq "$rounds"); do
  base+=("$(run_with "")")
  def+=("$(run_with "--default")")
  deep+=("$(run_with "--deep")")
  echo "round $r: none=${base[-1]} ns  default=${def[-1]} ns  deep=${deep[-1]} ns"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mb=$(median "${base[@]}"); md=$(median "${def[@]}"); mp=$(median "${deep[@]}")
minof() { printf '%s\n' "$@" | sort -g | head -1; }
echo "overhead: best ns/round: none=$(minof "${base[@]}") default=$(minof "${def[@]}") deep=$(minof "${deep[@]}")"
# Per-round ratios against the same round's baseline: robust to load that drifts.
rd=(); rp=()
for k in "${!base[@]}"; do
  rd+=("$(awk -v a="${def[$k]}" -v b="${base[$k]}" 'BEGIN {print (a-b)/b*100}')")
  rp+=("$(awk -v a="${deep[$k]}" -v b="${base[$k]}" 'BEGIN {print (a-b)/b*100}')")
done
echo "overhead: median of per-round slowdowns: default $(median "${rd[@]}")%  deep $(median "${rp[@]}")%"
awk -v b="$mb" -v d="$md" -v p="$mp" -v n="$rounds" -v i="$iter" 'BEGIN {
  printf "overhead: %d rounds x %d iterations (getppid + write 1B /dev/null)\n", n, i
  printf "overhead: median ns/round: none=%.1f default=%.1f deep=%.1f\n", b, d, p
  printf "overhead: slowdown default mode: %+.2f%%   deep mode: %+.2f%%\n", (d-b)/b*100, (p-b)/b*100
}'
