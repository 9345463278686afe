#!/usr/bin/env bash
# Installs the system libraries the package links when they are missing, and says what it
# installs: OpenBLAS (the CBLAS target, via pkg-config), HDF5 (ElectraHDF5, the TF2 .h5
# reader) and pkg-config itself. Debian/Ubuntu (apt-get, as root or through sudo); on macOS
# Accelerate replaces OpenBLAS and HDF5 comes from `brew install hdf5`; optional: oneDNN and
# Open MPI. Both README commands and .ci/run start with it; it does nothing when everything is there.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
    pkg-config --exists hdf5 2>/dev/null || missing+=(libhdf5-dev)
else
    missing+=(libopenblas-dev libhdf5-dev)
fi
# Optional: oneDNN, whose sgemm the engine loads at run time on AVX-512 CPUs (faster than
# OpenBLAS there; everything works without it).
optional=()
if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null 2>&1 \
    && ! compgen -G '/usr/lib/*/libdnnl.so.[23]*' >/dev/null && ! compgen -G '/usr/local/lib/libdnnl.so.[23]*' >/dev/null; then
    optional+=(libdnnl2)
fi
# Optional: Open MPI, which data-parallel training loads at run time (`mpirun -np N electra
# pretrain ...`); the tests that run mpirun are skipped without it.
if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null 2>&1 && ! command -v mpirun >/dev/null 2>&1; then
    optional+=(openmpi-bin)
fi
[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

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
echo "setup: installing ${missing[*]} ${optional[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# Without network an optional package is just skipped; a missing required one still fails.
$sudo apt-get update -qq || [ ${#missing[@]} -eq 0 ]
if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    echo "setup: installed ${missing[*]}" >&2
fi
if [ ${#optional[@]} -gt 0 ]; then
    if $sudo apt-get install -y -qq "${optional[@]}" >/dev/null 2>&1; then
        echo "setup: installed ${optional[*]} (optional: oneDNN products on AVX-512, Open MPI for data-parallel training)" >&2
    else
        echo "setup: ${optional[*]} not available (optional: products stay on OpenBLAS; training runs on one process)" >&2
    fi
fi
