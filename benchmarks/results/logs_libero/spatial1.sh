# LIBERO-Spatial, stage 1 (issue 11, "Spatial as the clock allows"): LIBERO-Object's protocol (stage 5's data
# recipe: 50 expert demonstrations per task from fresh placements with the official states' arm noise; heads on
# cached frozen MobileNetV2 features, 10,000 steps, EMA 0.999, chunks of 50) on LIBERO-Spatial, where the ten tasks
# share one set of objects and the instruction names the bowl by where it stands, so what the points must find is
# a place, not an object. Costs measured on LIBERO-Object: data ~62 min with two workers, cache ~42 min, a K-token
# row ~13 min with its evaluation at EP=20, dense ~66 min + ~4 min (Spatial's episodes are shorter: 220 steps).
# Order: GridS-16, its instruction-conditioned head, random-16, then dense (the costly row), top-K-16 and GridS-4.
# Every step resumes (a run from its last checkpoint, an evaluation from its journal, generation from its shards).
# Report: python benchmarks/grid_report.py --root runs/libero_spatial --out benchmarks/results/libero_spatial \
#   --steps 10000 --episodes 20 --reference dense-ema-c50
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}; SUITE=libero_spatial
. benchmarks/results/logs_libero/funcs.sh
generate && cache
STEPS=10000
row grids-16 0 grids 16
row grids-task-16 0 grids 16 --task-aware
row random-16 0 random 16
row dense 0 dense 256
row topk-16 0 topk 16
row grids-4 0 grids 4
