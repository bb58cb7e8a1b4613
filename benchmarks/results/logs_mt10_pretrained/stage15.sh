# Stage 15 (issue 12 item 4; not run yet, for the sessions after stage 14): each coordinate head at K = 16, 4, 1
# against top-K and random at equal K, on the main rows' seeds and episodes (three training seeds, 50 episodes per
# task). Today only seed 0 has them, over 20 episodes per task (the pooled head at K = 16 and 4 and the
# instruction-conditioned head at K = 16 already have three seeds). On the quiet 2 cores a row takes ~7 min to
# train, ~2.5 min for 20 episodes per task, ~3.5 min for 30 more: seven seed-0 runs, where still on disk, need only
# their 30 more (~25 min; else retrained, ~13 min each), 17 rows are trained (~13 min each): ~4 h over two sessions. The order puts the K = 4 comparisons
# first, then K = 1, then the heatmap head at K = 16 (its seed-0 run is gone: retrained runs reproduce the earlier
# ones episode for episode, repro_check.py). Every step resumes. Reports: report_ema.sh (20 episodes), then a
# 50-episode report like report_ep50.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
grids data generate --tasks mt10 --episodes-per-task 50 --out $DATA --workers 2 2>&1 | tr '\r' '\n' | tail -1  # resumes
cache  # a new checkout: ~5 min of data, ~27 min of features
STEPS=10000
head_row() {  # name seed reducer tokens: 20 episodes per task (the 20-episode report's), then 30 more
  EP=20; row "$@"
  EP=50; evaluate $ROOT/$1-ema-s$2 none
}
for name in grids-heatmap-4 topk-4 random-4 grids-1 grids-heatmap-1 topk-1 random-1; do
  head_row $name 0 ${name%-*} ${name##*-}
done
for seed in 1 2; do
  for name in grids-heatmap-4 topk-4 random-4 grids-1 grids-heatmap-1 topk-1 random-1 grids-heatmap-16; do
    head_row $name $seed ${name%-*} ${name##*-}
  done
done
head_row grids-heatmap-16 0 grids-heatmap 16
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
