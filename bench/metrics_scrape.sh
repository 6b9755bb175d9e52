#!/usr/bin/env bash
# CPU time of one /metrics scrape with 4,096 JVMs tracked (synthesised through the real
# event path), as ratios against peers in the same run: the same scrape with 0 JVMs, and
# building + serialising the `stats` event.  Also one scrape over HTTP from the real
# endpoint (process CPU).  No root needed.  See bench/metrics_scrape.cc.
#   bench/metrics_scrape.sh [SCRAPES_PER_ROUND] [ROUNDS]     (defaults 200 5)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work} CCACHE_NOHASHDIR=1
make -s -j2 "$build/bin/metrics_scrape_bench" >/dev/null
exec "$build/bin/metrics_scrape_bench" "${1:-200}" "${2:-5}"
