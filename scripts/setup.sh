#!/usr/bin/env bash
# Installs what the project needs from Debian 12 packages (run as root). Idempotent:
# packages already present are not fetched again, so a warm machine pays nothing.
set -euo pipefail
need=(build-essential cmake pkg-config libdnnl-dev libarmadillo-dev doctest-dev libcereal-dev
      libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libbenchmark-dev zlib1g-dev
      libopenblas-dev ocl-icd-opencl-dev)
# OpenBLAS: Armadillo's BLAS (the reference libblas3 is ~20x slower). ocl-icd-opencl-dev: only
# a Recommends of libdnnl-dev, but Debian's dnnl-config.cmake fails without OpenCL's headers.
# Optional extras: --with-torch (reference fixture script), --with-browser (explorer e2e test),
# --with-fuzz (clang + libFuzzer runtime for fuzz/sanitizer builds).
for arg in "$@"; do
  case "$arg" in
    --with-torch) need+=(python3-torch python3-numpy) ;;
    # node/npm: Debian's packages, unless a node with its own npm is installed already (e.g.
    # NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package)
    --with-browser) need+=(chromium); command -v npm >/dev/null || need+=(nodejs npm) ;;
    --with-fuzz) need+=(clang libclang-rt-14-dev libomp-dev) ;;  # libomp: clang's OpenMP
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "setup: all packages present"; exit 0; fi
echo "setup: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
