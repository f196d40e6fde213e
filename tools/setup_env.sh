#!/usr/bin/env bash
# Create, idempotently, the Python environment mmebv runs and is tested in.
#
#   bash tools/setup_env.sh            # prints the environment's path on its last line
#
# The environment lives in a cache keyed by Python, torch and the requirement files, so a
# second run (or a fresh clone on the same machine) takes seconds. mmcv 2.1.0 has no wheel
# for this torch: it is built once from its sdist with compiled ops and the wheel is cached,
# keyed by torch version, Python and CPU/CUDA.
#
# Environment variables:
#   PYTHON               interpreter for the venv (default: python3, must be 3.9-3.11)
#   MMEBV_CACHE          cache folder (default: ~/.cache/mmebv)
#   MMEBV_VENV           use this venv path instead of the keyed one
#   FORCE_CUDA=1         build mmcv's CUDA ops as well (GPU machine with nvcc); set
#                        TORCH_CUDA_ARCH_LIST too, e.g. "8.0;9.0" for A100 and H100
#   MAX_JOBS             parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
CACHE=${MMEBV_CACHE:-$HOME/.cache/mmebv}

log() { printf '[setup_env] %s\n' "$*" >&2; }

PYTAG=$("$PYTHON" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
if [[ "${FORCE_CUDA:-0}" == "1" ]]; then
  VARIANT="cuda-$(echo "${TORCH_CUDA_ARCH_LIST:-default}" | tr -c 'A-Za-z0-9.\n' '_')"
else
  VARIANT=cpu
fi
# Bump ENV_REVISION when a change to this script must rebuild existing environments.
ENV_REVISION=1
REQ_HASH=$( (echo "$ENV_REVISION"; cat "$ROOT"/requirements/*.txt) | sha256sum | cut -c1-12)
VENV=${MMEBV_VENV:-$CACHE/venvs/$PYTAG-torch$TORCH_VERSION-$VARIANT-$REQ_HASH}
WHEELS=$CACHE/wheels/mmcv$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$VARIANT
STAMP=$VENV/.mmebv-complete
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

build_mmcv_wheel() {
  if compgen -G "$WHEELS/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
    log "mmcv $MMCV_VERSION wheel cached in $WHEELS"
    return
  fi
  log "building mmcv $MMCV_VERSION with compiled ops ($VARIANT); ~20 min on 2 cores, once"
  local tmp
  tmp=$(mktemp -d "$CACHE/wheels/.build.XXXXXX")
  # --no-cache-dir: pip's own wheel cache is keyed by the sdist, not by the torch it
  # was compiled against, and would hand back a wheel built for another torch.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${PIP[@]}" wheel --no-cache-dir \
    --no-build-isolation --no-deps "mmcv==$MMCV_VERSION" -w "$tmp"
  mkdir -p "$(dirname "$WHEELS")"
  rm -rf "$WHEELS"
  mv "$tmp" "$WHEELS"  # atomic: a half-built wheel never looks cached
}

mkdir -p "$CACHE/venvs" "$CACHE/wheels"
if [[ ! -f "$STAMP" ]]; then
  log "creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "${PIP[@]}" install -q --upgrade "pip<26"
  "${PIP[@]}" install -r "$ROOT/requirements/build.txt"
  build_mmcv_wheel
  "${PIP[@]}" install "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl \
    -r "$ROOT/requirements/pinned.txt" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt" -c "$ROOT/requirements/build.txt"
  touch "$STAMP"
fi

# Point the (cheap) editable install at this checkout, unless it already is.
INSTALLED_FROM=$("$VENV/bin/python" -I -c 'import importlib.util as u, os
spec = u.find_spec("mmebv")
print(os.path.dirname(os.path.dirname(spec.origin)) if spec else "")')
if [[ "$INSTALLED_FROM" != "$ROOT" ]]; then
  log "installing mmebv from $ROOT (editable)"
  "${PIP[@]}" install -q --no-deps -e "$ROOT"
fi
ln -sfn "$VENV" "$ROOT/.venv"
log "ready: $VENV (linked as .venv)"
echo "$VENV"
