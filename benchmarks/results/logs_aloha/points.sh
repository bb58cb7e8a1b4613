# Where the points look on ALOHA (issue 12), seed 0 of the K-token rows after stages 3-4 (chunks of 50):
# closed-loop pictures of both cameras at t = 0, 100, 200 per task, point statistics and the information-retention map over 512 training frames
# (~4-5 min per run on the quiet 2 cores).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for run in ${RUNS:-grids-16 grids-4 topk-16 random-16}; do
  echo "== $(date +%T) points $run"
  OMP_NUM_THREADS=1 grids bench points --run runs/aloha_chunk50/$run-s0 --tasks aloha --at-steps 0,100,200 --data data/aloha \
    --out benchmarks/results/aloha_points_$run.png 2>&1 | grep -v "it/s\|s/it" | grep "retention\|wrote\|png"
done
