#!/usr/bin/env bash
# What the alert rules cost the connect path, in ONE run, side by side (root):
#   (1) bench/unix_connect_loop.c (socket, connect to a non-JVM unix socket, accept,
#       close: the loop's own CPU ns per round) with no daemon, with jvmwatchd and its
#       default alert rules, and with jvmwatchd and 100 alert rules of its own,
#       alternated round by round (a daemon started for each round);
#   (2) warm `properties` attaches (jattach, and `jvmwatch attach`) against an idle JDK 17
#       JVM started before any daemon, the same conditions alternated in blocks.
# The 100 rules are written so that none matches (every rule is evaluated for every
# record: the worst case for matching).  Two more conditions: 100 deny rules in monitor
# mode covering no JVM (the kernel's cost per .java_pid connect: one map lookup), and the
# same with the first rule covering jw.test.Sleeper JVMs, the bench JVM among them (every
# attach is decided in the kernel: exe, uid and cgroup lookups, a would_deny verdict and
# alert; monitor mode: nothing is refused).  Prints medians and ratios against no daemon
# (target: within 5%).  The daemons run with --no-api and their own audit log.
#   bench/alert_policy.sh [ROUNDS] [ITER] [BLOCKS] [RUNS]    (defaults 7 200000 4 40)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rounds=${1:-7}
iter=${2:-200000}
blocks=${3:-4}
runs=${4:-40}
. bench/lib.sh
bench_setup "$build" "$build/bin/unix_connect_loop"
loop=$PWD/$build/bin/unix_connect_loop
trap bench_cleanup EXIT

printf 'alerts:\n  defaults: true\n' >"$WORK/default.yaml"
{
  printf 'alerts:\n  defaults: true\n  rules:\n'
  for i in $(seq 100); do
    printf '    - name: rule-%d\n      severity: high\n      attacher: {exe: "/opt/tool%d/*", users: [nobody]}\n' "$i" "$i"
    printf '      target: {main: "com.example.App%d*"}\n      operation: [load, dumpheap, setflag]\n' "$i"
    printf '      args: ["/srv/%d/*"]\n' "$i"
  done
} >"$WORK/hundred.yaml"
deny_rules() {   # deny_rules COVER: 100 monitor-mode deny rules; COVER=1: the first covers Sleeper JVMs
  printf 'alerts:\n  defaults: true\n  deny:\n'
  for i in $(seq 100); do
    target="{main: \"com.example.App$i*\"}"
    [ "$1" = 1 ] && [ "$i" = 1 ] && target='{main: jw.test.Sleeper}'
    printf '    - name: deny-%d\n      mode: monitor\n      target: %s\n' "$i" "$target"
    printf '      allow: {exe: "/usr/lib/jvm/*/bin/jcmd"}\n'
  done
}
deny_rules 0 >"$WORK/deny.yaml"
deny_rules 1 >"$WORK/denycover.yaml"
conds=(default hundred deny denycover)

# (1) connect loop
declare -a none def hundred deny
for r in $(seq "$rounds"); do
  none+=("$("$loop" "$WORK" "$iter")")
  bench_start_daemon --config "$WORK/default.yaml"; def+=("$("$loop" "$WORK" "$iter")"); bench_stop_daemon
  bench_start_daemon --config "$WORK/hundred.yaml"; hundred+=("$("$loop" "$WORK" "$iter")"); bench_stop_daemon
  bench_start_daemon --config "$WORK/deny.yaml"; deny+=("$("$loop" "$WORK" "$iter")"); bench_stop_daemon
  echo "loop round $r: none=${none[-1]} default=${def[-1]} hundred=${hundred[-1]} deny=${deny[-1]} ns/round" >&2
done
rd=() rh=() rn=()
for k in "${!none[@]}"; do
  rd+=("$(ratio "${def[$k]}" "${none[$k]}")"); rh+=("$(ratio "${hundred[$k]}" "${none[$k]}")")
  rn+=("$(ratio "${deny[$k]}" "${none[$k]}")")
done

# (2) warm properties attaches
bench_start_jvm "$PWD/$build/java/classes"
cmds=()
if command -v jattach >/dev/null; then
  cmds+=(-n jattach "jattach $jvm_pid properties")
else
  echo "jattach is not installed: only jvmwatch attach is measured" >&2
fi
cmds+=(-n "jvmwatch attach" "$JW attach $jvm_pid properties")
for b in $(seq "$blocks"); do
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/none.$b.json" "${cmds[@]}" >/dev/null
  for cond in "${conds[@]}"; do
    bench_start_daemon --config "$WORK/$cond.yaml"
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/$cond.$b.json" "${cmds[@]}" >/dev/null
    bench_stop_daemon   # first: records of the last attaches are written at the latest on stop
    attaches=$(grep -c '"type":"attach"' "$WORK/audit.jsonl" || true)
    echo "attach block $b, $cond rules: the daemon recorded $attaches attach events" >&2
  done
done

echo "## alert rules on the connect path, one run ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs)"
echo
echo "(1) unix connect loop, $rounds rounds x $iter rounds of socket+connect+accept+close, CPU ns per round"
echo
echo "| daemon | median ns | median of per-round ratios vs no daemon |"
echo "|---|---:|---:|"
echo "| no daemon | $(median "${none[@]}") | 1.000 |"
echo "| jvmwatchd, default alert rules | $(median "${def[@]}") | $(median "${rd[@]}") |"
echo "| jvmwatchd, default + 100 alert rules | $(median "${hundred[@]}") | $(median "${rh[@]}") |"
echo "| jvmwatchd, default + 100 deny rules (monitor) | $(median "${deny[@]}") | $(median "${rn[@]}") |"
echo
python3 - "$WORK" "$blocks" "$runs" <<'PY'
import json, statistics, sys
work, blocks, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = {}
conds = ("none", "default", "hundred", "deny", "denycover")
for cond in conds:
    for b in range(1, blocks + 1):
        for r in json.load(open(f"{work}/{cond}.{b}.json"))["results"]:
            times.setdefault((cond, r["command"]), []).extend(r["times"])
print(f"(2) warm `properties` attach latency, JDK 17, {blocks} alternating blocks x {runs} runs per tool")
print()
print("Conditions: default alert rules; + 100 alert rules; + 100 deny rules in monitor mode covering")
print("no JVM; the same with one covering the bench JVM (every attach decided: would_deny).")
print()
print("| tool | no daemon ms | default ms | 100 alert ms | 100 deny ms | deny covering ms | ratios vs none |")
print("|---|---:|---:|---:|---:|---:|---|")
for tool in sorted({t for _, t in times}):
    a, d, h, n, c = (statistics.median(times[(x, tool)]) * 1e3 for x in conds)
    print(f"| {tool} | {a:.2f} | {d:.2f} | {h:.2f} | {n:.2f} | {c:.2f} | "
          f"{d / a:.3f} / {h / a:.3f} / {n / a:.3f} / {c / a:.3f} |")
PY
