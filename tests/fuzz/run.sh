#!/usr/bin/env bash
# Runs the libFuzzer targets of a build (docs/fuzzing.md).
#   tests/fuzz/run.sh BUILD SECONDS TARGET...           `make fuzz`: long runs
#   tests/fuzz/run.sh --smoke BUILD SECONDS TARGET...   `make test`, `make fuzz-smoke`
# Each target first replays its committed regression inputs (tests/fuzz/regressions/NAME),
# then fuzzes for SECONDS from its committed seed corpus (tests/fuzz/corpus/NAME).  New
# inputs go to a scratch dir under BUILD/fuzz (kept across long runs, fresh for a smoke
# run), never into the committed corpus.  Crashes are saved in BUILD/fuzz/artifacts/NAME/.
# Prints one line per target ("fuzz NAME: ok|FAILED ...") and a table of execs, exec/s and
# coverage; exits nonzero if any target failed.  Smoke runs go two at a time.
set -u
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
build=${1:?build dir}; seconds=${2:?seconds}; shift 2
src=$(cd "$(dirname "$0")" && pwd)
jobs=1; [ "$smoke" -eq 1 ] && jobs=2

run_one() {
  local name=$1 bin="$build/fuzz/${1}_fuzzer"
  local log="$build/fuzz/logs/$name.log" art="$build/fuzz/artifacts/$name"
  local scratch="$build/fuzz/corpus/$name"
  [ "$smoke" -eq 1 ] && scratch="$build/fuzz/smoke/$name" && rm -rf "$scratch"
  mkdir -p "$(dirname "$log")" "$art" "$scratch"
  : >"$log"
  rm -f "$build/fuzz/logs/$name.stats"
  touch "$build/fuzz/logs/$name.start"
  if [ ! -x "$bin" ]; then echo "fuzz $name: FAILED (missing $bin)"; return 1; fi
  local common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/")
  [ -f "$src/$name.dict" ] && common+=(-dict="$src/$name.dict")
  # Regression inputs run whole, one by one: each is a crash once found.
  local regress=()
  if [ -d "$src/regressions/$name" ]; then
    mapfile -t regress < <(find "$src/regressions/$name" -type f ! -name '*.md' | sort)
  fi
  if [ ${#regress[@]} -gt 0 ] && ! "$bin" "${common[@]}" "${regress[@]}" >>"$log" 2>&1; then
    echo "fuzz $name: FAILED (a regression input crashes; $log)"; return 1
  fi
  local dirs=("$scratch")
  [ -d "$src/corpus/$name" ] && dirs+=("$src/corpus/$name")
  local t0=$SECONDS
  "$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 "${dirs[@]}" >>"$log" 2>&1
  local rc=$?
  # libFuzzer's status lines: "#N DONE cov: C ft: F corp: ... exec/s: E"; final stats after.
  local last execs eps cov ft
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -E -n 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -E -n 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -E -n 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  local crashes
  crashes=$(find "$art" -type f -newer "$build/fuzz/logs/$name.start" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%s %s %s %s %s %s %s\n' "$name" "${execs:-0}" "${eps:-0}" "${cov:-?}" "${ft:-?}" \
    "$crashes" "$((SECONDS - t0))" >"$build/fuzz/logs/$name.stats"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz $name: FAILED (exit $rc after ${execs:-?} execs; $log; input saved in $art/)"
    return 1
  fi
  echo "fuzz $name: ok (${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?})"
}

mkdir -p "$build/fuzz/logs"
status=0
if [ "$jobs" -eq 1 ]; then
  for t in "$@"; do run_one "$t" || status=1; done
else
  # Two at a time; each job's line is printed when it ends.
  pids=() names=()
  for t in "$@"; do
    run_one "$t" >"$build/fuzz/logs/$t.result" &
    pids+=($!) names+=("$t")
    if [ ${#pids[@]} -ge "$jobs" ]; then
      wait "${pids[0]}" || status=1
      cat "$build/fuzz/logs/${names[0]}.result"
      pids=("${pids[@]:1}") names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || status=1
    cat "$build/fuzz/logs/${names[$i]}.result"
  done
fi

echo
printf '%-16s %12s %9s %7s %7s %8s %6s\n' target execs exec/s cov ft crashes secs
for t in "$@"; do
  [ -f "$build/fuzz/logs/$t.stats" ] || continue
  read -r n e s c f k d <"$build/fuzz/logs/$t.stats"
  printf '%-16s %12s %9s %7s %7s %8s %6s\n' "$n" "$e" "$s" "$c" "$f" "$k" "$d"
done
exit $status
