#!/bin/bash
# Attach latency, side by side, in one hyperfine run per scenario:
#   build/bin/jvmwatch attach  vs  jattach  vs  jcmd
#   (a) `properties` on a warm JVM (listener already up; the first, expensive
#       properties call done beforehand)
#   (b) `jcmd VM.version` as the FIRST attach to a fresh, idle JVM: hyperfine --prepare
#       starts a new JVM before every run and waits until it printed "ready" and idled;
#       the measured command is only the attach.
# Targets: (a) jvmwatch no slower than jattach; (b) jvmwatch median under 8 ms.
# Usage: bench/attach.sh [RUNS_A] [RUNS_B]      (needs root, hyperfine, jattach, jcmd)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS_A=${1:-40}
RUNS_B=${2:-15}
JW=$PWD/build/bin/jvmwatch
CLASSES=$PWD/build/java/classes
WORK=""

# start_jvm FILE: a fresh idle Sleeper JVM whose pid goes into FILE.
start_jvm() {
    local out=$WORK/jvm.out
    setsid java -Xmx64m -cp "$CLASSES" jw.test.Sleeper >"$out" 2>&1 </dev/null &
    echo $! >"$1"
    for _ in $(seq 1 600); do grep -q ready "$out" 2>/dev/null && break; sleep 0.01; done
    sleep 0.3  # let JIT and GC threads settle: an idle JVM
}
stop_jvm() {
    [ -s "$1" ] || return 0
    local pid; pid=$(cat "$1")
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    rm -f "/tmp/.java_pid$pid"  # a killed JVM leaves its socket behind
    : >"$1"
}

# Internal: the --prepare step of scenario (b) (reuses the run's work dir).
if [ "${1:-}" = "--fresh" ]; then
    WORK=$(dirname "$2"); stop_jvm "$2"; start_jvm "$2"; exit 0
fi
WORK=$(mktemp -d /tmp/jvmwatch-bench.XXXXXX)
PIDFILE=$WORK/pid

cleanup() { stop_jvm "$PIDFILE" || true; stop_jvm "$WORK/warm.pid" || true; rm -rf "$WORK"; }
trap cleanup EXIT

[ -x "$JW" ] || { echo "build first: make" >&2; exit 1; }
for t in hyperfine jattach jcmd java; do command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }; done

# (a) warm
start_jvm "$WORK/warm.pid"
WPID=$(cat "$WORK/warm.pid")
"$JW" attach "$WPID" properties >/dev/null  # listener up, Java-side properties warmed
hyperfine -N --warmup 5 --runs "$RUNS_A" --export-json "$WORK/a.json" \
    -n jvmwatch "$JW attach $WPID properties" \
    -n jattach "jattach $WPID properties" \
    -n jcmd "jcmd $WPID VM.system_properties" >&2
stop_jvm "$WORK/warm.pid"

# (b) cold: `read` is a shell builtin, `exec` replaces the shell, and hyperfine
# subtracts the shell's own start-up, so what is timed is the attach client alone.
hyperfine --runs "$RUNS_B" --export-json "$WORK/b.json" \
    --prepare "$0 --fresh $PIDFILE" \
    -n jvmwatch "read p < $PIDFILE; exec $JW attach \$p jcmd VM.version" \
    -n jattach "read p < $PIDFILE; exec jattach \$p jcmd VM.version" \
    -n jcmd "read p < $PIDFILE; exec jcmd \$p VM.version" >&2

python3 - "$WORK/a.json" "$WORK/b.json" <<'PY'
import json, sys
titles = ["(a) `properties`, warm JVM", "(b) `jcmd VM.version`, first attach to a fresh idle JVM"]
print("| scenario | tool | median ms | min ms | max ms | vs jattach |")
print("|---|---|---:|---:|---:|---:|")
for title, path in zip(titles, sys.argv[1:]):
    res = {r["command"]: r for r in json.load(open(path))["results"]}
    base = res["jattach"]["median"]
    for name in ("jvmwatch", "jattach", "jcmd"):
        r = res[name]
        print(f"| {title} | {name} | {r['median']*1e3:.2f} | {r['min']*1e3:.2f} | "
              f"{r['max']*1e3:.2f} | {r['median']/base:.2f}x |")
PY
