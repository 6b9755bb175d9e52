# Shared by the benchmarks that compare jvmwatchd against no daemon in one run (sourced
# from the repository top).  The caller runs bench_setup and traps EXIT to bench_cleanup
# (plus anything of its own).

d_pid="" jvm_pid=""

# bench_setup BUILD [TARGET...]: builds the daemon, the CLI, the Java test classes and the
# caller's own targets; sets JWD, JW, java and WORK (a temp dir); checks the tools.
bench_setup() {
  local build=$1; shift
  make -s "$build/bin/jvmwatchd" "$build/bin/jvmwatch" "$@" java >/dev/null
  JWD=$PWD/$build/bin/jvmwatchd
  JW=$PWD/$build/bin/jvmwatch
  java=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
  command -v hyperfine >/dev/null || { echo "missing hyperfine (tools/install-deps.sh)" >&2; exit 1; }
  [ -x "$java" ] || { echo "missing JDK 17 at $java" >&2; exit 1; }
  WORK=$(mktemp -d /tmp/jvmwatch-bench.XXXXXX)
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

# bench_start_daemon [ARGS...]: a jvmwatchd of its own (no API, no metrics, its own audit
# log $WORK/audit.jsonl: it touches nothing of another jvmwatchd), returned once it said
# daemon.start and its start-up scan is done.
bench_start_daemon() {
  local log=$WORK/audit.jsonl
  rm -f "$log"
  "$JWD" --no-api --metrics-listen off --audit-log "$log" "$@" >/dev/null 2>"$WORK/daemon.err" &
  d_pid=$!
  for _ in $(seq 600); do grep -q '"daemon.start"' "$log" 2>/dev/null && break; sleep 0.05; done
  grep -q '"daemon.start"' "$log" || { echo "jvmwatchd $* did not start:" >&2; cat "$WORK/daemon.err" >&2; exit 1; }
  sleep 0.5   # the start-up scan of running processes is done well within this
}

bench_stop_daemon() {
  [ -n "$d_pid" ] || return 0
  kill -TERM "$d_pid" 2>/dev/null || true; wait "$d_pid" 2>/dev/null || true; d_pid=""
}

# bench_start_jvm CLASSES_DIR: an idle JVM (jw.test.Sleeper) with its attach listener up
# and warmed by one `properties`; its pid in jvm_pid.
bench_start_jvm() {
  setsid "$java" -Xmx64m -cp "$1" jw.test.Sleeper >"$WORK/jvm.out" 2>&1 </dev/null &
  jvm_pid=$!
  for _ in $(seq 600); do grep -q ready "$WORK/jvm.out" 2>/dev/null && break; sleep 0.01; done
  "$JW" attach "$jvm_pid" properties >/dev/null
}

bench_cleanup() {
  bench_stop_daemon
  if [ -n "$jvm_pid" ]; then
    kill -KILL "$jvm_pid" 2>/dev/null || true; wait "$jvm_pid" 2>/dev/null || true
    rm -f "/tmp/.java_pid$jvm_pid" /tmp/hsperfdata_*/"$jvm_pid"   # a killed JVM leaves them behind
  fi
  rm -rf "$WORK"
}
