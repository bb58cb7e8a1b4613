# Why GridS-16 falls under sensor noise (issue 12's diagnostics; stage 11 measured noise GridS-16 20.5 against
# top-K-16 54.5 and random-16 52.5 at seed 2, and the task-aware head 63.5 / 52.5 / 24.5 over seeds 0-2): for each
# run, the points figure under noise (one closed-loop episode per task) and, over 512 training frames and their
# noisy copies, how far the noise moves the points and how much it changes the features they read
# (`grids bench points --perturbation noise --data`: OUT.json's "shift"). ~1-2 min per run.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for run in ${RUNS:-grids-16-ema-s2 grids-4-ema-s2 topk-16-ema-s2 random-16-ema-s2 grids-task-16-ema-s0 grids-task-16-ema-s1 grids-task-16-ema-s2}; do
  echo "== $(date +%T) points under noise $run"
  OMP_NUM_THREADS=1 grids bench points --run runs/mt10w/$run --tasks mt10 --at-steps 0,30,60 --data data/mt10w \
    --perturbation noise --out benchmarks/results/metaworld_mt10_points_noise_$run.png 2>&1 \
    | grep -v "it/s\|s/it" | grep "under noise\|wrote"
done
