#!/usr/bin/env bash
# What a non-JVM exec costs jvmwatchd (root): the daemon before a change (a base revision,
# built into its own directory, or a given binary) against this tree's, in the same run,
# at 1,000 exec/s.  Rounds alternate base and new so drift hits both alike; each phase runs
# one daemon alone.  Per daemon: CPU % of one core (utime+stime during the storm), the
# same scaled to exactly 1,000 exec/s (a loaded host may not reach the rate), RSS, exec
# events its stream counted, and the kernel's exec program cost per call
# (kernel.bpf_stats_enabled; run_time_ns / run_cnt of the tpbtf_exec/tp_exec the daemon
# holds an fd of).  Then the ratio new/base of the medians.
#   bench/daemon_exec_rate.sh [--base REV | --base-bin PATH] [--rounds N] [--rate R]
#                             [--exe PATH] [--base-args ARGS] [--new-args ARGS] [SECS]
# --base-args/--new-args: extra daemon arguments for one side (split at spaces), e.g. the
# same binary with and without metrics:
#   --base-bin build/bin/jvmwatchd --base-args "--metrics-listen off" --new-args "--metrics-listen 127.0.0.1:0"
# Defaults: --base main, 3 rounds, 1000 exec/s, 5 s per phase, --exe build/bin/observer_true
# (a static no-libc program: the cheapest exec, so the rate is reachable; /bin/true costs
# the daemon the same per exec).  The base build is kept under $BUILD/bench-base/<commit>/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
base_rev=main base_bin="" rounds=3 rate=1000 secs=5 exe="" base_args="" new_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base_rev=$2; shift 2 ;;
    --base-bin) base_bin=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --exe) exe=$2; shift 2 ;;
    --base-args) base_args=$2; shift 2 ;;
    --new-args) new_args=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) secs=$1; shift ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "daemon_exec_rate.sh: needs root (BPF)"; exit 1; }
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} CCACHE_NOHASHDIR=1
make -s -j2 "$build/bin/jvmwatchd" "$build/bin/observer_bench" "$build/bin/observer_true" >/dev/null
new_bin="$build/bin/jvmwatchd"
exe=${exe:-$build/bin/observer_true}

if [ -z "$base_bin" ]; then
  commit=$(git rev-parse --verify "$base_rev^{commit}")
  dir="$(pwd)/$build/bench-base/$commit"
  base_bin="$dir/build/bin/jvmwatchd"
  if [ ! -x "$base_bin" ]; then
    echo "building jvmwatchd of $base_rev ($commit) in $dir ..."
    rm -rf "$dir/src"
    mkdir -p "$dir"
    git worktree add -q --detach "$dir/src" "$commit"
    make -s -C "$dir/src" -j2 CXX="${CXX:-ccache g++}" BUILD="$dir/build" "$dir/build/bin/jvmwatchd" >/dev/null
    git worktree remove --force "$dir/src"
  fi
fi
[ -x "$base_bin" ] || { echo "no base binary $base_bin"; exit 1; }

tmp=$(mktemp -d)
d=""
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  [ -n "$d" ] && { kill -TERM "$d" 2>/dev/null; wait "$d" 2>/dev/null || true; }
  sysctl -q -w kernel.bpf_stats_enabled="$stats_was" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run_time_ns run_cnt of the exec programs daemon `pid` holds (prog fds in its fdinfo).
exec_prog_stats() {
  local ids
  ids=$(grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
  for id in $ids; do bpftool -j prog show id "$id" 2>/dev/null; echo; done | python3 -c "
import json,sys
t=c=0
for line in sys.stdin:
    line=line.strip()
    if not line: continue
    p=json.loads(line)
    if p.get('name') in ('tpbtf_exec','tp_exec'):
        t+=p.get('run_time_ns',0); c+=p.get('run_cnt',0)
print(t,c)"
}
# One phase: start the daemon, storm, measure, stop.
# Prints "cpu% rss_kib exec_events ns_per_exec execs_per_s cpu%_at_1000".
phase() {
  local bin=$1 args=$2 log="$tmp/audit.jsonl"
  rm -f "$log"
  # shellcheck disable=SC2086  # ARGS are split at spaces on purpose
  "$bin" --audit-log "$log" --stats-interval 3600 $args 2>"$tmp/stderr" &
  d=$!
  for _ in $(seq 600); do grep -q '"daemon.start"' "$log" 2>/dev/null && break; sleep 0.1; done
  grep -q '"daemon.start"' "$log" || { echo "$bin did not start:" >&2; cat "$tmp/stderr" >&2; exit 1; }
  sleep 1   # let the start-up scan settle
  read -r rt0 rc0 < <(exec_prog_stats "$d")
  local c0 t0 c1 t1 rss
  c0=$(cpu_ticks "$d"); t0=$(date +%s.%N)
  local made
  made=$("$build/bin/observer_bench" spawn "$rate" "$secs" --exe "$exe" | awk '{print $2}')
  c1=$(cpu_ticks "$d"); t1=$(date +%s.%N)
  read -r rt1 rc1 < <(exec_prog_stats "$d")
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$d/status")
  kill -TERM "$d"; wait "$d" || true; d=""
  local execs
  execs=$(grep '"type":"stats"' "$log" | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['userspace']['events_exec'])")
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v rss="$rss" -v ex="$execs" \
      -v rt="$((rt1 - rt0))" -v rc="$((rc1 - rc0))" -v made="$made" 'BEGIN {
    cpu = (c1 - c0) / hz / (t1 - t0) * 100; r = made / (t1 - t0)
    printf "%.2f %d %d %.0f %.0f %.2f\n", cpu, rss, ex, rc ? rt / rc : 0, r, r ? cpu * 1000 / r : 0 }'
}

echo "base: $base_bin $base_args"
echo "new:  $new_bin $new_args"
echo "$rounds rounds of $secs s at $rate exec/s of $exe each"
: >"$tmp/base" ; : >"$tmp/new"
for r in $(seq "$rounds"); do
  for which in base new; do
    bin=$([ "$which" = base ] && echo "$base_bin" || echo "$new_bin")
    args=$([ "$which" = base ] && echo "$base_args" || echo "$new_args")
    out=$(phase "$bin" "$args")
    echo "$out" >>"$tmp/$which"
    read -r c rss ex ns rps c1k <<<"$out"
    printf "round %d %-4s %5d exec/s  CPU %6.2f%% of a core (%5.2f%% at 1000/s)  RSS %6d KiB  exec events %6d  exec prog %5d ns/call\n" \
      "$r" "$which" "$rps" "$c" "$c1k" "$rss" "$ex" "$ns"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for which in base new; do
  printf "%-4s median: %d exec/s, CPU %.2f%% of a core (%.2f%% at 1000 exec/s), RSS %d KiB, exec prog %d ns/call\n" "$which" \
    "$(cut -d' ' -f5 "$tmp/$which" | median)" "$(cut -d' ' -f1 "$tmp/$which" | median)" \
    "$(cut -d' ' -f6 "$tmp/$which" | median)" "$(cut -d' ' -f2 "$tmp/$which" | median)" \
    "$(cut -d' ' -f4 "$tmp/$which" | median)"
done
awk -v b="$(cut -d' ' -f6 "$tmp/base" | median)" -v n="$(cut -d' ' -f6 "$tmp/new" | median)" \
    -v bn="$(cut -d' ' -f4 "$tmp/base" | median)" -v nn="$(cut -d' ' -f4 "$tmp/new" | median)" 'BEGIN {
  if (b > 0) printf "ratio new/base, daemon CPU at 1000 exec/s: %.2f\n", n / b
  if (bn > 0) printf "ratio new/base, kernel exec program ns/call: %.2f\n", nn / bn }'
