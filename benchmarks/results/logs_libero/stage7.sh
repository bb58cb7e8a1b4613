# Stage 7 (after stage 6): does the instruction-conditioned GridS-16 (--task-aware, 89.0 % vs dense 93.0 on the
# first 20 official states per task, seed 0) hold at another seed and under the shifts where GridS-16 lost most
# (camera-small −24, robot-init −17 at EP=10)? Then LIBERO's protocol (all 50 official states per task) for the
# rows that have 20 (each continues from its EP=20 journal, ~8 min), then third seeds of GridS-16, random-16 and
# the task-aware head (~13 min each). Dense's seed 1 (~66 min) is left for a later stage.
# Reports (pairs in each report's header): python benchmarks/grid_report.py --root runs/libero_object --out
#   benchmarks/results/libero_object --steps 10000 --episodes 50 --reference dense-ema-c50 --pairs "..."
#   (LIBERO's protocol; EP=20 → libero_object_ep20 with the seeds, EP=10 → libero_object_shifts)
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}
. benchmarks/results/logs_libero/funcs.sh
after_stage5
row grids-task-16 1 grids 16 --task-aware
for shift in camera-small robot-init; do EP=10 evaluate $ROOT/grids-task-16-ema-c50-s0 $shift; done
for run in grids-task-16 random-16 topk-16 grids-4 grids-1 grids-heatmap-16; do
  EP=50 evaluate $ROOT/$run-ema-c50-s0 none
done
row grids-task-16 2 grids 16 --task-aware
row grids-16 2 grids 16
row random-16 2 random 16 --reducer-options '{"seed": 2}'
