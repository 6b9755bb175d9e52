#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and benchmarking jvmwatch need,
# only when some are missing.  Non-interactive; needs root (or sudo) only when it installs.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcxxopts-dev libyaml-cpp-dev nlohmann-json3-dev libre2-dev
  libsystemd-dev libgtest-dev prometheus-cpp-dev
  help2man  # make deb: manual pages from --help (dpkg-deb, dpkg-shlibdeps: build-essential's dpkg-dev)
  # tests: real JVMs, agents, peers
  openjdk-17-jdk-headless libjavassist-java jattach util-linux procps
  binutils  # strip: the stripped-JDK copy the fallback tests run (tests/common/jdk_copy.h)
  systemd  # systemd-analyze verify of the unit
  lintian  # the package test checks build/jvmwatch_*.deb
  prometheus  # a real Prometheus server scraping the daemon, and promtool
  # benchmarks
  hyperfine
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
