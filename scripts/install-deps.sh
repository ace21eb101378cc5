#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with only the Rust toolchain lacks to build swfd
# (clang and libclang for RocksDB's bindings; a C++ compiler for RocksDB and libFuzzer) and, with --python, to run the Python client tests
# (python3-venv; chromium and chromium-driver for the console's browser tests).
set -euo pipefail

want_python=0
[ "${1:-}" = "--python" ] && want_python=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: not root and no sudo; install the packages below by hand" >&2
  fi
fi

missing=()
have_libclang() {
  ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* >/dev/null 2>&1
}
command -v clang >/dev/null 2>&1 || missing+=(clang)
have_libclang || missing+=(libclang-dev)
# A C++17 compiler and libstdc++: RocksDB, and libFuzzer, which libfuzzer-sys compiles for the fuzz
# targets (scripts/fuzz.sh, run by .ci/run).
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# The chaos suite's partitions and lossy links (scripts/chaos.sh).
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v tc >/dev/null 2>&1 || missing+=(iproute2)
# The rolling-restart scripts (scripts/rolling-restart.sh, rolling-restart-check.sh).
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ "$want_python" = 1 ]; then
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
  # ensurepip is what venv uses to bootstrap pip.
  python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
  # The web console's browser tests (tests/python/test_console.py): headless Chromium over WebDriver.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing ${missing[*]} and no apt-get; install them with your package manager" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
