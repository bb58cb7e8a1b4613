# Where the points look and what they retain (issue 12), seed 0 of the K-token rows: closed-loop pictures at
# t = 0, 30, 60 per task, point statistics and the information-retention map over 512 training frames.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for run in ${RUNS:-grids-16 grids-heatmap-16 grids-4 topk-16 random-16}; do
  echo "== $(date +%T) points $run"
  OMP_NUM_THREADS=1 grids bench points --run runs/mt10w/$run-s0 --tasks mt10 --at-steps 0,30,60 --data data/mt10w \
    --out benchmarks/results/metaworld_mt10_points_$run.png 2>&1 | grep -v "it/s\|s/it" | grep "retention\|wrote\|png"
done
