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
generate && cache
STEPS=10000
trained dense-ema-c50 && trained grids-16-ema-c50 || { echo 'run stage5.sh first (dense and GridS-16)'; exit 1; }
points() {  # run: closed-loop pictures at t = 0, 60, 120 per task, point statistics and the retention map (~4 min)
  local out=benchmarks/results/libero_object_points_$1.png
  [ -f $out ] && return
  echo "== $(date +%T) points $1"
  OMP_NUM_THREADS=1 grids bench points --run $ROOT/$1-ema-c50-s0 --tasks $TASKS --at-steps 0,60,120 --data $DATA \
    --out $out 2>&1 | grep -v "it/s\|s/it" | grep "retention\|wrote\|correlation"
}
for run in dense grids-16; do evaluate $ROOT/$run-ema-c50-s0 none; done
points grids-16
row() {  # name reducer tokens: each row is trained and evaluated before the next starts, so a session cut short
  # leaves whole rows
  trained $1-ema-c50 || train $1-ema-c50 0 $2 $3 --chunk-size 50 --ema 0.999
  evaluate $ROOT/$1-ema-c50-s0 none
}
# GridS-16 lost 15 points to dense here (78.0 vs 93.0 on 20 states per task), so the heatmap head (issue 12: points
# that follow the content) comes right after GridS-4, and the shifts (where the paper says GridS helps) before
# the last two rows.
row grids-4 grids 4
row grids-heatmap-16 grids-heatmap 16
row topk-16 topk 16
for shift in camera-small robot-init; do
  for run in dense grids-16; do EP=10 evaluate $ROOT/$run-ema-c50-s0 $shift; done
done
row random-16 random 16
row grids-1 grids 1
for run in grids-heatmap-16 grids-4 topk-16; do points $run; done
