# Stage 4 (after stage 5): the LIBERO-Object grid on stage 3's protocol (10,000 steps, EMA 0.999, chunks of 50),
# seed 0, on stage 5's data (arm starts with the official states' noise). The K-token heads train in ~10 min each;
# since the evaluation renders only the frames the policy sees, 50 episodes take ~2.5 min (GridS-16) to ~2.8 min
# (dense) with two workers, so EP=20 (the first 20 of the 50 official init states per task, 200 episodes) is
# ~11 min per row: the grid below is ~2 h with dense already trained. EP=50 (the issue's protocol) continues
# from EP=20 (~17 min more per row). Then the camera and robot-init shifts for dense and GridS-16 at EP=10. The
# heatmap coordinate head (issue 12) is one of the rows.
# Report: python benchmarks/grid_report.py --root runs/libero_object --out benchmarks/results/libero_object \
#   --steps 10000 --episodes $EP --reference dense-ema-c50
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}
. benchmarks/results/logs_libero/funcs.sh
after_stage5
for run in dense grids-16; do evaluate $ROOT/$run-ema-c50-s0 none; done
points grids-16
# GridS-16 lost 15 points to dense here (78.0 vs 93.0 on 20 states per task), so the heatmap head (issue 12: points
# that follow the content) comes right after GridS-4, and the shifts (where the paper says GridS helps) before
# the last two rows.
row grids-4 0 grids 4
row grids-heatmap-16 0 grids-heatmap 16
row topk-16 0 topk 16
for shift in camera-small robot-init; do
  for run in dense grids-16; do EP=10 evaluate $ROOT/$run-ema-c50-s0 $shift; done
done
row random-16 0 random 16
row grids-1 0 grids 1
for run in grids-heatmap-16 grids-4 topk-16; do points $run; done
