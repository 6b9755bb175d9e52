#!/usr/bin/env bash
# What jvmwatchd costs the host and the JVMs it watches, in ONE run, side by side (root):
#   (1) the syscall loop of bench/observer_overhead.sh (getppid + 1-byte write, the loop's
#       own CPU ns per round) with no daemon, with `jvmwatchd` (default mode: with the
#       JVM-side uprobes where the daemon has them) and with `jvmwatchd --deep`,
#       alternated round by round (a daemon started for each round, the loop run once it
#       said daemon.start);
#   (2) warm `properties` attach latency against an idle JDK 17 JVM (started before any
#       daemon, listener already up) with no daemon and with the default daemon,
#       (and with the daemon's JVM side off: what the uprobes add on their own),
#       alternated in blocks, each block one hyperfine run of jattach and `jvmwatch attach`
#       (jattach skipped, and said so, when it is not installed);
#   (3) the cost of one uprobe hit: bench/uprobe_hit.c calls a no-op function with and
#       without a tracefs uprobe on it (in a tracefs instance of its own whose buffer is
#       off: the trap and the kernel's uprobe handling, no BPF program and no record).
# Prints medians and the ratios against no daemon (target for (2): within 5%).  The
# daemons run with --no-api and their own audit log: they touch nothing of another
# jvmwatchd that may be running.
#   bench/jvm_side.sh [ROUNDS] [ITER] [BLOCKS] [RUNS]    (defaults 7 2000000 4 40)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rounds=${1:-7}
iter=${2:-2000000}
blocks=${3:-4}
runs=${4:-40}
. bench/lib.sh
bench_setup "$build" "$build/bin/observer_syscall_loop"
loop=$PWD/$build/bin/observer_syscall_loop
uprobe=""
tracefs=/sys/kernel/tracing
[ -d "$tracefs/instances" ] || tracefs=/sys/kernel/debug/tracing
cleanup() {
  bench_cleanup
  if [ -n "$uprobe" ]; then
    echo 0 >"$tracefs/instances/$uprobe/events/$uprobe/hit/enable" 2>/dev/null || true
    rmdir "$tracefs/instances/$uprobe" 2>/dev/null || true
    echo "-:$uprobe/hit" >>"$tracefs/uprobe_events" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# (1) syscall loop
declare -a none def deep
for r in $(seq "$rounds"); do
  none+=("$("$loop" "$iter")")
  bench_start_daemon;        def+=("$("$loop" "$iter")");  bench_stop_daemon
  bench_start_daemon --deep; deep+=("$("$loop" "$iter")"); bench_stop_daemon
  echo "loop round $r: none=${none[-1]} default=${def[-1]} deep=${deep[-1]} ns/round" >&2
done
rd=() rp=()
for k in "${!none[@]}"; do
  rd+=("$(ratio "${def[$k]}" "${none[$k]}")"); rp+=("$(ratio "${deep[$k]}" "${none[$k]}")")
done

# (2) warm properties attach latency
bench_start_jvm "$PWD/$build/java/classes"   # listener up, Java-side properties warmed
cmds=()
if command -v jattach >/dev/null; then
  cmds+=(-n jattach "jattach $jvm_pid properties")
else
  echo "jattach is not installed: only jvmwatch attach is measured" >&2
fi
cmds+=(-n "jvmwatch attach" "$JW attach $jvm_pid properties")
# The daemon without its JVM side too: what the uprobes add on their own.
printf 'observer:\n  jvm_probes: false\n' >"$WORK/noprobes.yaml"
for b in $(seq "$blocks"); do
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/none.$b.json" "${cmds[@]}" >/dev/null
  bench_start_daemon --config "$WORK/noprobes.yaml"
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/client.$b.json" "${cmds[@]}" >/dev/null
  bench_stop_daemon
  bench_start_daemon
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$WORK/daemon.$b.json" "${cmds[@]}" >/dev/null
  attaches=$(grep -c '"type":"attach' "$WORK/audit.jsonl" || true)
  jvm_side=$(grep -c '"operation_seen_by":"jvm"' "$WORK/audit.jsonl" || true)
  bench_stop_daemon
  echo "attach block $b done (the daemon recorded $attaches attach events, $jvm_side with the JVM side)" >&2
done

# (3) one uprobe hit
cc -O2 -Wall -Wextra -Werror -o "$WORK/uprobe_hit" bench/uprobe_hit.c
offset=$(python3 - "$WORK/uprobe_hit" probed <<'PY'
import subprocess, sys
path, sym = sys.argv[1:]
vaddr = next(int(l.split()[0], 16) for l in subprocess.check_output(["nm", path], text=True).splitlines()
             if l.split()[-1] == sym)
for l in subprocess.check_output(["readelf", "-lW", path], text=True).splitlines():
    f = l.split()
    if f and f[0] == "LOAD" and "E" in f[6:-1]:
        off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if va <= vaddr < va + filesz:
            print(hex(vaddr - va + off))
PY
)
uprobe=jwbench$$
hit_iter=20000
declare -a bare probed
echo "p:$uprobe/hit $WORK/uprobe_hit:$offset" >>"$tracefs/uprobe_events"
mkdir "$tracefs/instances/$uprobe"
echo 0 >"$tracefs/instances/$uprobe/tracing_on"
for r in $(seq "$rounds"); do
  bare+=("$("$WORK/uprobe_hit" "$hit_iter")")
  echo 1 >"$tracefs/instances/$uprobe/events/$uprobe/hit/enable"
  probed+=("$("$WORK/uprobe_hit" "$hit_iter")")
  echo 0 >"$tracefs/instances/$uprobe/events/$uprobe/hit/enable"
done

echo "## jvmwatchd cost, one run ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs)"
echo
echo "(1) syscall loop, $rounds rounds x $iter iterations (getppid + write 1B /dev/null), CPU ns per iteration"
echo
echo "| mode | median ns | median of per-round ratios vs no daemon |"
echo "|---|---:|---:|"
echo "| no daemon | $(median "${none[@]}") | 1.000 |"
echo "| jvmwatchd (default) | $(median "${def[@]}") | $(median "${rd[@]}") |"
echo "| jvmwatchd --deep | $(median "${deep[@]}") | $(median "${rp[@]}") |"
echo
python3 - "$WORK" "$blocks" "$runs" <<'PY'
import json, statistics, sys
work, blocks, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = {}   # (condition, tool) -> all run times, s
for cond in ("none", "client", "daemon"):
    for b in range(1, blocks + 1):
        for r in json.load(open(f"{work}/{cond}.{b}.json"))["results"]:
            times.setdefault((cond, r["command"]), []).extend(r["times"])
print(f"(2) warm `properties` attach latency, JDK 17, {blocks} alternating blocks x {runs} runs per tool")
print()
print("jvmwatchd: default mode; client side only: the same with `observer.jvm_probes: false`")
print()
print("| tool | no daemon ms | client side only ms | jvmwatchd ms | ratio jvmwatchd / none | ratio jvmwatchd / client side only | p90 none | p90 jvmwatchd |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for tool in sorted({t for _, t in times}):
    a, c, b = times[("none", tool)], times[("client", tool)], times[("daemon", tool)]
    p90 = lambda v: sorted(v)[int(0.9 * (len(v) - 1))] * 1e3
    ma, mc, mb = (statistics.median(v) * 1e3 for v in (a, c, b))
    print(f"| {tool} | {ma:.2f} | {mc:.2f} | {mb:.2f} | {mb / ma:.3f} | {mb / mc:.3f} | {p90(a):.2f} | {p90(b):.2f} |")
PY
echo
echo "(3) one uprobe hit, $rounds rounds x $hit_iter calls of a no-op function, CPU ns per call"
echo
echo "| | median ns per call |"
echo "|---|---:|"
echo "| no uprobe | $(median "${bare[@]}") |"
echo "| tracefs uprobe (buffer off) | $(median "${probed[@]}") |"
echo "| one hit costs | $(awk -v a="$(median "${probed[@]}")" -v b="$(median "${bare[@]}")" 'BEGIN {printf "%.0f", a-b}') |"
