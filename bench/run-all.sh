#!/usr/bin/env bash
# Runs every benchmark once, in sequence (root; a quiet machine gives steadier figures).
# Each script prints its own table; see the header of each for what it measures.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/attach.sh bench/observer_latency.sh bench/observer_overhead.sh \
         bench/observer_throughput.sh bench/daemon_latency.sh bench/daemon_exec_rate.sh \
         bench/inject.sh bench/ps_api.sh bench/metrics_scrape.sh bench/jvm_side.sh bench/alert_policy.sh; do
  echo "=== $b"
  "$b" || { echo "!!! $b failed"; status=1; }
done
exit $status
