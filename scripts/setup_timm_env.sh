#!/usr/bin/env bash
# Create .venv-timm for the timm adapter tests (idempotent; seconds when it is already complete).
#   bash scripts/setup_timm_env.sh && .venv-timm/bin/python -m pytest tests/adapters/test_timm.py
# Why a separate venv: timm imports torchvision, and the only torchvision wheel for torch 2.13 here is the
# CUDA build, which needs a one-line patch beside the CPU torch (scripts/patch_torchvision_cpu.sh). The
# main .venv stays free of torchvision.
# Environment: VENV (default .venv-timm), PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-timm}
PYTHON=${PYTHON:-python3.11}
STAMP="$VENV/.grids-timm-ready"
t0=$(date +%s)
step() { printf '==> [%3ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

# The stamp is written last, after an import check; it names the checkout the venv points at.
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(pwd)" ]; then
    step "$VENV is ready"
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -U pip
fi
step "installing torch 2.13.0 (CPU), torchvision 0.28.0, timm"
# torch is pinned on every line so that nothing can pull another (CUDA) build.
"$VENV/bin/python" -m pip install -q torch==2.13.0
"$VENV/bin/python" -m pip install -q torch==2.13.0 torchvision==0.28.0 "timm>=1.0.20,<2" safetensors einops numpy pytest
step "patching torchvision for the CPU torch"
bash scripts/patch_torchvision_cpu.sh "$VENV"
step "putting this checkout's grids on the venv's path"
# A .pth file instead of `pip install -e .`: no build step, and always this checkout's code.
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
pwd > "$SITE/grids-checkout.pth"
"$VENV/bin/python" -c "import timm, grids; print('timm', timm.__version__, 'grids', grids.__version__)"
pwd > "$STAMP"
step "done"
