#!/usr/bin/env bash
# The python tools the test suite drives, in one venv under the cache:
#
#   scripts/setup-test-tools.sh      (scripts/test.sh calls it)
#
# - llama-cpp-python[server]==0.3.36: a real OpenAI-compatible llama.cpp server that the LLM
#   client tests start on 127.0.0.1. PyPI has only its source, which builds llama.cpp with CMake
#   (about 4 minutes on 2 cores), so the built wheel is kept in $QUARRY_CACHE/wheels and reused.
# - datasets: the tests load every JSONL quarry writes with datasets.load_dataset("json", ...).
#
# Idempotent: a marker holding the package list makes a second run return at once.
set -euo pipefail

CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
PYTHON="${PYTHON:-python3}"
VENV="$CACHE/test-venv"
LLAMA="llama-cpp-python==0.3.36"
PACKAGES=("$LLAMA" "llama-cpp-python[server]==0.3.36" "datasets==5.2.0")
# Portable CPU flags, like llama-cpp-2's build: a native build enables AMX and AVX-512 paths
# that crash (SIGSEGV in llama_decode) on virtual machines that report AMX.
CMAKE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
SPEC="2 ${PACKAGES[*]} $CMAKE_FLAGS"

log() { printf 'test-tools: %s\n' "$*"; }
die() { printf 'test-tools: error: %s\n' "$*" >&2; exit 1; }

ready() { [[ -x "$VENV/bin/python" && "$(cat "$VENV/.quarry-complete" 2>/dev/null)" == "$SPEC" ]]; }
if ready; then
    log "ready in $VENV"
    exit 0
fi
mkdir -p "$CACHE/wheels"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.test-tools.lock"
    flock 9
    if ready; then log "ready in $VENV"; exit 0; fi
fi
command -v cmake >/dev/null 2>&1 || die "cmake is needed to build llama.cpp (scripts/setup.sh installs it)"

rm -rf -- "$VENV"
"$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed; install python3-venv"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check --no-input "$@"; }
# The built wheel is kept under a directory named by the flags, so a flag change rebuilds.
WHEELS="$CACHE/wheels/llama-cpp-python-$(printf '%s' "$CMAKE_FLAGS" | cksum | cut -d' ' -f1)"
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    log "building $LLAMA from source (llama.cpp through CMake, about 5 minutes) ..."
    CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        pip wheel --no-deps --no-binary llama-cpp-python --no-cache-dir -w "$WHEELS" "$LLAMA" \
        || die "building $LLAMA failed (it needs cmake, gcc and g++)"
fi
log "installing ${PACKAGES[*]} into $VENV ..."
pip install --quiet --find-links "$WHEELS" "${PACKAGES[@]}" || die "pip install failed"
"$VENV/bin/python" -c 'import llama_cpp.server, datasets' || die "the venv cannot import llama_cpp.server and datasets"
printf '%s\n' "$SPEC" > "$VENV/.quarry-complete"
log "ready in $VENV"
