#!/usr/bin/env bash
# Installs the system libraries the package links when they are missing, and says what it
# installs: OpenBLAS (the CBLAS target, via pkg-config), HDF5 (ElectraHDF5, the TF2 .h5
# reader) and pkg-config itself. Debian/Ubuntu (apt-get, as root or through sudo); on macOS
# Accelerate replaces OpenBLAS and HDF5 comes from `brew install hdf5`. Both README commands
# and .ci/run start with it; it does nothing when everything is there.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
    pkg-config --exists hdf5 2>/dev/null || missing+=(libhdf5-dev)
else
    missing+=(libopenblas-dev libhdf5-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(uname)" = Darwin ]; then
    echo "setup: missing ${missing[*]}; on macOS run: brew install pkg-config hdf5" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]} and no apt-get here; install OpenBLAS, HDF5 and pkg-config with your package manager" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "setup: installed ${missing[*]}" >&2
