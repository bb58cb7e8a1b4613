# Stage 6 (issue 10, next): the main K-token rows retrained with stage 5's protocol (10,000 steps, EMA 0.999),
# seed 0, each evaluated at 10,000 steps with the same 200 episode seeds, so that they are compared with
# dense-ema (87.5 %) on equal terms. Data and cache are made only where this checkout lacks them (~35 min);
# each K-token head ~10-15 min on the quiet 2 cores (dense-ema took 78 min), each evaluation ~5 min: ~2 h.
# Report: report_ema.sh (the grid of stages 5-7, compared with dense-ema).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
prepare  # the data and the feature cache, resumed
STEPS=10000
for row in "grids-16 grids 16" "topk-16 topk 16" "grids-4 grids 4" "random-16 random 16" \
           "grids-heatmap-16 grids-heatmap 16"; do
  set -- $row
  trained $1-ema || train $1-ema 0 $2 $3 --ema 0.999
  evaluate $ROOT/$1-ema-s0 none
done
