#!/usr/bin/env bash
# Make torchvision importable beside the CPU build of torch (idempotent).
#   bash scripts/patch_torchvision_cpu.sh VENV
# The only torchvision wheel matching torch 2.13 here is PyPI's CUDA build (0.28.0+cu130): its _C.so needs
# libtorch_cuda.so, fails to load silently, and then two unconditional fake-kernel registrations for
# torchvision::nms / ::qnms raise "operator torchvision::nms does not exist", breaking `import torchvision`
# (and with it timm, transformers' image processors and every LeRobot policy). Registering them only when
# the compiled ops loaded fixes the import; torchvision.ops.nms/roi_align stay without a kernel.
set -euo pipefail
VENV=${1:?usage: patch_torchvision_cpu.sh VENV}
FILE=$("$VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("torchvision")
print(pathlib.Path(spec.origin).parent / "_meta_registrations.py")
PY
)
sed -i -E 's/^@torch\.library\.register_fake\("torchvision::(nms|qnms)"\)$/@(torch.library.register_fake("torchvision::\1") if torchvision.extension._has_ops() else (lambda fn: fn))/' "$FILE"
"$VENV/bin/python" -c "import torchvision; print('torchvision', torchvision.__version__, 'imports')"
