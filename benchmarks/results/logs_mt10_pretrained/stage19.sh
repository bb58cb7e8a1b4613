# Stage 19 (issue 12 item 4, "plus the out-of-distribution shifts"): the heatmap head under the five shifts, at the
# training seeds where the main rows have them. Every main row (dense, GridS-16, GridS-4, top-K-16, random-16) has
# the shifts at seed 2, dense and GridS-16 also at seed 0 (metaworld_mt10_ema.md), so the heatmap head at K = 4 and
# 16 is evaluated at seed 2 first, then at seed 0, over the same 200 episode seeds (paired). A run missing on disk is
# trained first (the same command as stage 15's rows, which then skips the training). On the quiet 2 cores: ~7 min to
# train a row, ~2.2 min per 200-episode evaluation; seed 2 ~32 min with heatmap-4 s2 on disk, seed 0 ~45 min from a
# checkout with the feature cache. Every step resumes. Report: report_ema.sh (the shift columns of the EMA report).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
SEEDS=${SEEDS:-2 0}
prepare  # the data and the feature cache, resumed
STEPS=10000; EP=20
for seed in $SEEDS; do
  for tokens in 4 16; do
    row grids-heatmap-$tokens $seed grids-heatmap $tokens
    for shift in noise light camera-large camera-small table-color; do
      evaluate $ROOT/grids-heatmap-$tokens-ema-s$seed $shift
    done
  done
done
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
