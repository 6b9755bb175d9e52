#!/bin/bash
# Auto-attach latency: time from exec to the agent's agentmain over N starts of a small
# JDK 17 app (jw.inject.InjectApp), for
#   (a) jvmwatchd with an inject: rule (attaches when the observer sees the JVM ready), and
#   (b) a loop that polls for new JVMs once a second and attaches with jattach,
# on the same kind of starts (one at a time, each app living RUN_MS).
# Clocks: a launcher writes CLOCK_MONOTONIC right before exec; the agent and main() write
# System.nanoTime() (CLOCK_MONOTONIC on Linux).  Reports p50/p95 of exec->agentmain, the
# share of starts where agentmain ran before main(), misses, killed JVMs and thread dumps.
# Target (a): p50 < 150 ms, no failures.
# Usage: bench/inject.sh [N] [RUN_MS]        (root; needs jattach; default N=50, RUN_MS=2000)
# JVMWATCHD_BASELINE=/path/to/jvmwatchd adds a run of that daemon binary (e.g. a build of
# an earlier commit) on the same starts, reported beside the current one.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
RUN_MS=${2:-2000}
[ "$(id -u)" = 0 ] || { echo "bench/inject.sh: needs root" >&2; exit 2; }
make -s -j2 all >/dev/null
AGENT=$PWD/build/java/inject_marker.jar
WORK=$(mktemp -d /var/tmp/jvmwatch-inject-bench.XXXXXX)
chmod 755 "$WORK"
DAEMON=
POLLER=
cleanup() {
    [ -n "$POLLER" ] && kill "$POLLER" 2>/dev/null || true
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/cp/jw/inject"
cp build/java/classes/jw/inject/{InjectApp,Work}.class "$WORK/cp/jw/inject/"
TAG=bench-$$
JVM_FLAGS=(-Xmx32m -Xss256k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto)
LAUNCH='import os, sys, time
with open(sys.argv[1], "a") as f: f.write("EXEC %d %d\n" % (time.monotonic_ns(), os.getpid()))
os.execvp(sys.argv[2], sys.argv[2:])'

# run_starts DIR: N starts, one after another; every line of DIR/*.txt carries the pid.
run_starts() {
    local dir=$1
    mkdir -p "$dir"
    # cwd $WORK: attach trigger files are created in the JVM's cwd, keep them out of the repo.
    for i in $(seq 1 "$N"); do
        (cd "$WORK" && exec /usr/bin/python3 -c "$LAUNCH" "$dir/exec.txt" java "${JVM_FLAGS[@]}" -cp "$WORK/cp" \
            jw.inject.InjectApp --main-mark "$dir/main.txt" --tag "$TAG" --run-ms "$RUN_MS" \
            >"$dir/out.$i" 2>&1 </dev/null) && echo 0 >>"$dir/rc.txt" || echo $? >>"$dir/rc.txt"
    done
}

# report NAME DIR AGENTFILE
report() {
    /usr/bin/python3 - "$1" "$2" "$3" "$N" <<'PY'
import glob, os, sys
name, d, agent_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def read(path, tag):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            w = line.split()
            if len(w) >= 3 and w[0] == tag:
                out.setdefault(int(w[2]), []).append(int(w[1]))
    return out
ex, mn, ag = read(d + "/exec.txt", "EXEC"), read(d + "/main.txt", "MAIN"), read(agent_file, "AGENT")
lat, before, dup, gap = [], 0, 0, []
for pid, (t0, *_) in ex.items():
    if pid in ag:
        dup += len(ag[pid]) > 1
        lat.append((ag[pid][0] - t0) / 1e6)
        if pid in mn:
            before += ag[pid][0] < mn[pid][0]
            gap.append((ag[pid][0] - mn[pid][0]) / 1e6)
rcs = [int(x) for x in open(d + "/rc.txt").read().split()]
killed = sum(1 for r in rcs if r != 0)
dumps = sum(1 for f in glob.glob(d + "/out.*") if "Full thread dump" in open(f, errors="replace").read())
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else float("nan")
print(f"{name:<22} starts={len(ex):3d} injected={len(lat):3d} missed={len(ex)-len(lat):3d} "
      f"twice={dup} killed={killed} dumps={dumps}  exec->agentmain p50={pct(50):7.1f} ms "
      f"p95={pct(95):7.1f} ms  agentmain before main: {before}/{len(lat)} "
      f"({(100*before/len(lat) if lat else 0):.0f}%), median agentmain-main "
      f"{(sorted(gap)[len(gap)//2] if gap else float('nan')):+.1f} ms")
PY
}

# (a) jvmwatchd: run_daemon BINARY DIR (the rule's agent writes DIR/agent.txt)
run_daemon() {
    local bin=$1 dir=$2
    mkdir -p "$dir"
    rm -rf "$WORK/state"
    cat >"$WORK/jvmwatchd.yaml" <<YAML
inject:
  state_dir: $WORK/state
  rules:
    - name: bench
      match:
        main: {glob: "jw.inject.InjectApp"}
        args: {glob: "$TAG"}
      agent: {jar: $AGENT, options: "marker=$dir/agent.txt"}
YAML
    : >"$WORK/daemon.err"
    "$bin" --config "$WORK/jvmwatchd.yaml" --audit-log "$dir/audit.jsonl" 2>"$WORK/daemon.err" &
    DAEMON=$!
    for _ in $(seq 1 600); do grep -q "watching:" "$WORK/daemon.err" && break; sleep 0.05; done
    grep -q "watching:" "$WORK/daemon.err" || { cat "$WORK/daemon.err"; exit 1; }
    run_starts "$dir"
    kill "$DAEMON"; wait "$DAEMON" || true; DAEMON=
}
run_daemon build/bin/jvmwatchd "$WORK/a"
FAILED=$(grep -c '"type":"inject.failed"' "$WORK/a/audit.jsonl" || true)
if [ -n "${JVMWATCHD_BASELINE:-}" ]; then
    run_daemon "$JVMWATCHD_BASELINE" "$WORK/c"
    FAILED_BASE=$(grep -c '"type":"inject.failed"' "$WORK/c/audit.jsonl" || true)
fi

# (b) poll once a second, attach with jattach (each JVM once)
mkdir -p "$WORK/b"
(
    declare -A seen
    while :; do
        for pid in $(pgrep -f -- "--tag $TAG" || true); do
            [ "$(cat /proc/$pid/comm 2>/dev/null)" = java ] || continue
            [ -n "${seen[$pid]:-}" ] && continue
            seen[$pid]=1
            jattach "$pid" load instrument false "$AGENT=marker=$WORK/b/agent.txt" >/dev/null 2>&1 &
        done
        sleep 1
    done
) &
POLLER=$!
run_starts "$WORK/b"
kill "$POLLER"; POLLER=

echo "inject benchmark: $N starts each, app lives ${RUN_MS} ms, $(nproc) CPUs, $(java -version 2>&1 | head -1)"
report "jvmwatchd (observer)" "$WORK/a" "$WORK/a/agent.txt"
echo "                       inject.failed events: $FAILED"
if [ -n "${JVMWATCHD_BASELINE:-}" ]; then
    report "jvmwatchd (baseline)" "$WORK/c" "$WORK/c/agent.txt"
    echo "                       inject.failed events: $FAILED_BASE  ($JVMWATCHD_BASELINE)"
fi
report "poll 1/s + jattach" "$WORK/b" "$WORK/b/agent.txt"
