#!/usr/bin/env bash
# Runs every test binary of a build, then (when FUZZ_TARGETS is set, as `make test` does)
# the fuzz smoke, and prints one closing line: "N passed, N failed, N skipped".
# Root-only tests skip without root unless JVMWATCH_REQUIRE_ROOT=1, when they fail instead.
set -u
build=${1:-build}
pass=0 fail=0 skip=0 status=0
log_dir="$build/test-logs"
mkdir -p "$log_dir"
for t in unit_tests integration_tests; do
  bin="$build/bin/$t"
  [ -x "$bin" ] || { echo "missing test binary: $bin"; status=1; continue; }
  echo "==> $t"
  # A generous bound so a hung test cannot eat CI's whole budget.
  timeout --signal=KILL 2400 "$bin" --gtest_color=no 2>&1 | tee "$log_dir/$t.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log_dir/$t.log" | grep -oE '[0-9]+' | head -1)
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log_dir/$t.log" | grep -oE '[0-9]+' | head -1)
  s=$(grep -E '^\[  SKIPPED \] [0-9]+ test' "$log_dir/$t.log" | grep -oE '[0-9]+' | head -1)
  # A crash leaves no summary: count it as a failure.
  if [ -z "$p$f" ]; then f=1; fi
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
done
# Fuzz smoke: each libFuzzer target (tests/fuzz) replays its regression inputs and runs a
# few seconds on its committed corpus; each target counts as one test.
if [ -n "${FUZZ_TARGETS:-}" ]; then
  echo "==> fuzz smoke (${FUZZ_SMOKE_SECONDS:-3} s per target)"
  # shellcheck disable=SC2086
  tests/fuzz/run.sh --smoke "$build" "${FUZZ_SMOKE_SECONDS:-3}" $FUZZ_TARGETS 2>&1 | tee "$log_dir/fuzz.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^fuzz [a-z_0-9]+: ok' "$log_dir/fuzz.log")
  f=$(grep -cE '^fuzz [a-z_0-9]+: FAILED' "$log_dir/fuzz.log")
  if [ "$rc" -ne 0 ]; then status=1; [ "$f" -gt 0 ] || f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
fi
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] || status=1
exit $status
