#!/usr/bin/env bash
# Create, idempotently, the Python environment mmebv runs and is tested in.
#
#   bash tools/setup_env.sh            # prints this checkout's venv (.venv) on its last line
#
# Two layers:
# - a shared venv in a cache, keyed by Python, torch and the requirement files it
#   installs: torch, mmcv, the OpenMMLab stack and the test tools, but no mmebv. A second
#   run, or a fresh clone on the same machine, reuses it and takes seconds. mmcv 2.1.0 has
#   no wheel for this torch: it is built once from its sdist with compiled ops and the
#   wheel is cached, keyed by torch version, Python and CPU/CUDA.
# - <checkout>/.venv, a thin venv of the checkout's own, without packages: one .pth file
#   puts the checkout on sys.path, another adds the shared venv's site-packages, and the
#   shared venv's console scripts (mim, torchrun, pytest, pip...) are copied with
#   .venv/bin/python as their interpreter. So .venv/bin/python, .venv/bin/mim, `python -m
#   pytest` in the activated .venv... import this checkout's mmebv, never another clone's.
#   mmebv is not pip-installed: the checkout is on the path. `pip install X` in .venv
#   installs into .venv, for this checkout only; pip never uninstalls a shared package
#   ("outside environment"), but a pinned one it is asked to change gets shadowed by a copy
#   in .venv: rerun this script after deleting .venv to come back to the pinned stack.
#
# It deletes only folders it created: a venv it creates first gets a marker file
# (.mmebv-owned); a non-empty folder without one is refused (exit 2), and a half-built one
# with it is rebuilt. Set-ups sharing a cache wait for each other ($MMEBV_CACHE/
# setup_env.lock), so `make demo` and `make test` may start together.
#
# Environment variables:
#   PYTHON               interpreter for the venv (default: python3, must be 3.9-3.11)
#   MMEBV_CACHE          cache folder (default: ~/.cache/mmebv)
#   MMEBV_VENV           use this path for the shared venv instead of the keyed one
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
die() { printf '[setup_env] error: %s\n' "$*" >&2; exit 2; }
absolute() { if [[ $1 == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "$PWD" "$1"; fi; }

PYTAG=$("$PYTHON" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
if [[ "${FORCE_CUDA:-0}" == "1" ]]; then
  VARIANT="cuda-$(echo "${TORCH_CUDA_ARCH_LIST:-default}" | tr -c 'A-Za-z0-9.\n' '_')"
else
  VARIANT=cpu
fi
# Bump ENV_REVISION when a change to this script must rebuild existing environments
# (2: the shared venv holds no mmebv; each checkout's .venv adds its own).
ENV_REVISION=2
REQ=$ROOT/requirements
# The files installed below, and only those.
REQ_HASH=$( (echo "$ENV_REVISION"; cat "$REQ"/{build,pinned,runtime,tests,docs}.txt) | sha256sum | cut -c1-12)
KEY=$PYTAG-torch$TORCH_VERSION-$VARIANT-$REQ_HASH
CACHE=$(absolute "$CACHE")
VENV=$(absolute "${MMEBV_VENV:-$CACHE/venvs/$KEY}")
WHEELS=$CACHE/wheels/mmcv$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$VARIANT
OWNED=.mmebv-owned
STAMP=$VENV/.mmebv-complete
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
LAYER=$ROOT/.venv
# Bump LAYER_REVISION when the checkout's .venv must be rebuilt.
LAYER_REVISION=1
LAYER_STAMP=$LAYER/.mmebv-layer
if [[ "${VENV%/}" == "$LAYER" ]]; then
  die "MMEBV_VENV=$VENV is this checkout's .venv, which the set-up makes itself; pick another path"
fi

# Make FOLDER a venv folder of this script's: absent or empty (it then gets the marker),
# or marked by an earlier run (emptied). Anyone else's folder is left as it is: exit 2.
claim() {  # claim FOLDER HOW-TO-FIX
  local dir=$1
  if [[ -L $dir || -e $dir ]] && [[ ! -d $dir ]]; then
    die "$dir exists and is not a folder; $2"
  fi
  if [[ -f $dir/$OWNED ]]; then
    find "$dir/" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
  elif [[ -d $dir && -n $(ls -A "$dir") ]]; then
    die "$dir is a non-empty folder tools/setup_env.sh did not create (no $OWNED in it); $2"
  fi
  mkdir -p "$dir"
  echo "made by mmebv's tools/setup_env.sh, which may empty and rebuild this folder" \
    >"$dir/$OWNED"
}

build_mmcv_wheel() {
  if compgen -G "$WHEELS/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
    log "mmcv $MMCV_VERSION wheel cached in $WHEELS"
    return
  fi
  log "building mmcv $MMCV_VERSION with compiled ops ($VARIANT); once (tens of minutes)"
  rm -rf "$CACHE"/wheels/.build.*  # an interrupted build's (the lock is held)
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
# One set-up at a time per cache: the others wait here (the lock goes with the process).
exec 9>>"$CACHE/setup_env.lock"
if ! command -v flock >/dev/null; then
  log "no flock (util-linux) here: not waiting for other set-ups of $CACHE"
elif ! flock -n 9; then
  log "waiting for another set-up to finish (lock: $CACHE/setup_env.lock)"
  flock 9
fi

# The shared venv.
if [[ ! -f "$STAMP" ]]; then
  claim "$VENV" "set MMEBV_VENV to another path, or remove $VENV yourself"
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "${PIP[@]}" install -q --upgrade "pip<26"
  "${PIP[@]}" install -r "$REQ/build.txt"
  build_mmcv_wheel
  "${PIP[@]}" install "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl -r "$REQ/pinned.txt" \
    -r "$REQ/runtime.txt" -r "$REQ/tests.txt" -r "$REQ/docs.txt" \
    -c "$REQ/build.txt"
  echo "$KEY" >"$STAMP"
fi
SHARED_SITES=$("$VENV/bin/python" -I -c 'import os, site
print("\n".join(p for p in site.getsitepackages() if os.path.isdir(p)))')
# An mmebv in the shared venv (installed by set-ups before ENV_REVISION 2, or by hand)
# would be every checkout's: remove it.
while IFS= read -r site; do
  if compgen -G "$site/mmebv-*.dist-info" >/dev/null || [[ -e $site/mmebv.egg-link ]]; then
    log "uninstalling the mmebv of the shared venv $VENV (each checkout has its own)"
    "${PIP[@]}" uninstall -y -q mmebv </dev/null
    break
  fi
done <<<"$SHARED_SITES"

# This checkout's .venv.
LAYER_INFO="root=$ROOT
shared=$VENV
cache=$CACHE
revision=$LAYER_REVISION"
layer_ok() {
  [[ -d $LAYER && ! -L $LAYER && -f $LAYER_STAMP ]] || return 1
  [[ "$(<"$LAYER_STAMP")" == "$LAYER_INFO" ]] || return 1
  local found
  found=$("$LAYER/bin/python" -I -c 'import importlib.util as u, os
spec = u.find_spec("mmebv")
print(os.path.dirname(os.path.dirname(spec.origin)) if spec else "")' 2>/dev/null) || return 1
  [[ "$found" == "$ROOT" ]]
}
if ! layer_ok; then
  if [[ -L $LAYER ]]; then  # older set-ups linked .venv to the shared venv
    if [[ -e $LAYER && ! -f $LAYER/.mmebv-complete ]]; then
      die "$LAYER links to $(readlink "$LAYER"), not a venv of tools/setup_env.sh; remove the link yourself"
    fi
    log "replacing $LAYER, a link to a shared venv made by an older set-up"
    rm -f -- "$LAYER"
  fi
  claim "$LAYER" "move it away or remove it yourself (the set-up makes .venv)"
  log "creating $LAYER: this checkout's mmebv on the packages of $VENV"
  "$VENV/bin/python" -m venv --without-pip "$LAYER"
  "$LAYER/bin/python" -I - "$ROOT" "$VENV" "$SHARED_SITES" <<'PY'
import os
import shlex
import sys
import sysconfig

root, shared, shared_sites = sys.argv[1], sys.argv[2], sys.argv[3].splitlines()
site_packages = sysconfig.get_path('purelib')
# The checkout first (sys.path order), then the shared site-packages, whose own .pth
# files site.addsitedir runs.
with open(os.path.join(site_packages, 'mmebv-0-checkout.pth'), 'w') as f:
    f.write(root + '\n')
with open(os.path.join(site_packages, 'mmebv-1-shared-venv.pth'), 'w') as f:
    f.write('import site; ' + '; '.join(
        f'site.addsitedir({p!r})' for p in shared_sites) + '\n')

# The shared venv's console scripts, run by this venv's Python; its other programs
# (ninja...) linked.
shared_bin, bin_dir = os.path.join(shared, 'bin'), os.path.join(sys.prefix, 'bin')
python = os.path.join(bin_dir, 'python')
interpreters = {os.path.join(shared_bin, name) for name in (
    'python', 'python3', 'python%d.%d' % sys.version_info[:2])}
if ' ' in python or len(python) > 120:  # what a shebang line cannot hold
    header = ["#!/bin/sh", f"'''exec' {shlex.quote(python)} \"$0\" \"$@\"", "' '''"]
else:
    header = ['#!' + python]


def script_body(lines):
    """The code of a console script run by the shared Python, else None."""
    first = lines[0].decode('utf-8', 'replace').strip()
    if first.startswith('#!') and first[2:].strip() in interpreters:
        return lines[1:]
    if (first == '#!/bin/sh' and len(lines) > 3  # pip's form for long paths
            and lines[1].startswith(b"'''exec' ") and lines[2].strip() == b"' '''"
            and any(p in lines[1].decode('utf-8', 'replace') for p in interpreters)):
        return lines[3:]
    return None


for name in sorted(os.listdir(shared_bin)):
    source, target = os.path.join(shared_bin, name), os.path.join(bin_dir, name)
    if not os.path.isfile(source) or os.path.lexists(target):
        continue  # python, activate...: this venv's own
    with open(source, 'rb') as f:
        data = f.read()
    body = script_body(data.split(b'\n')) if data.startswith(b'#!') else None
    if body is not None:
        with open(target, 'wb') as f:
            f.write('\n'.join(header).encode() + b'\n' + b'\n'.join(body))
        os.chmod(target, 0o755)
    elif os.access(source, os.X_OK):
        os.symlink(source, target)
PY
  printf '%s\n' "$LAYER_INFO" >"$LAYER_STAMP"
  layer_ok || { log "$LAYER does not import mmebv from $ROOT"; exit 1; }
fi
log "ready: $LAYER (this checkout's mmebv; shared packages: $VENV)"
echo "$LAYER"
