#!/usr/bin/env bash
# Installs what meshd needs to build and test, from Debian's packages, when
# it is missing. Safe to run again: it installs nothing when all is there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libboost1.81-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev
  prometheus-cpp-dev libsqlitecpp-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest curl procps iproute2
  libssl-dev openssl etcd-server etcd-client wrk
  python3-websockets libnghttp2-dev nghttp2-client nghttp2-server python3-grpcio
)
if [[ "${MESHD_WITH_BROWSER:-0}" == 1 ]]; then
  PACKAGES+=(chromium)
  # Node.js may come from elsewhere (NodeSource's nodejs bundles npm and
  # conflicts with Debian's npm package): install it only when missing.
  command -v node >/dev/null || PACKAGES+=(nodejs)
  command -v npm >/dev/null || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
