#!/usr/bin/env bash
# Detection latency: kernel timestamp of an exec (bpf_ktime_get_ns in the tp_btf program)
# to the moment the Observer's callback sees it (CLOCK_MONOTONIC), p50/p99/max.
# Root.  Usage: bench/observer_latency.sh [EXECS] [GAP_US]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
make -s "$build/bin/observer_bench"
"$build/bin/observer_bench" latency "${1:-5000}" "${2:-1000}"
