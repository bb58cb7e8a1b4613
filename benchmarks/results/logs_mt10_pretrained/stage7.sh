# Stage 7 (issue 10): after stage 6 (seed 0 of every main row with 10,000 steps + EMA 0.999), seed 1 of the
# K-token main rows (~9 min to train and ~3.5 min to evaluate each on the quiet 2 cores), then the five shifts at
# seed 0 for dense-ema and grids-16-ema (200 episodes each, ~3.5 min), then dense-ema seed 1 (78 min), then the
# shifts of the other main rows. Every step resumes; data and cache are made only where this checkout lacks them.
# Report: report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
prepare  # the data and the feature cache, resumed
STEPS=10000
SHIFTS="camera-small camera-large light noise table-color"
for row in "grids-16 grids 16" "grids-4 grids 4" "topk-16 topk 16" "random-16 random 16"; do
  set -- $row
  trained $1-ema 1 || train $1-ema 1 $2 $3 --ema 0.999
  evaluate $ROOT/$1-ema-s1 none
done
for shift in $SHIFTS; do for run in dense-ema grids-16-ema; do evaluate $ROOT/$run-s0 $shift; done; done
trained dense-ema 1 || train dense-ema 1 dense 256 --ema 0.999
evaluate $ROOT/dense-ema-s1 none
for shift in $SHIFTS; do for run in grids-4-ema topk-16-ema random-16-ema; do evaluate $ROOT/$run-s0 $shift; done; done
