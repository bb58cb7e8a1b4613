# Stage 11 (issues 10 and 12), 2026-12-03, after stage 10's chain (which ends with dense-ema seed 1): the discrete
# reducers at GridS's small budgets, seed 0 (issue 12 item 4: each head at K = 4 and 1 against top-K and random at
# equal K; ~6 min to train and ~2 min to evaluate each), then the shifts of the main rows at the seed that all of
# them have on today's code, seed 2 (GridS-16's four shifts are stage 10's; 200 episodes each, ~2-3 min), table
# colour included, then dense-ema seed 1 under the same shifts, then 50 episodes per task for the main rows on
# disk. Every step resumes. Report: report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for name in topk-4 random-4 topk-1 random-1; do row $name 0 ${name%-*} ${name##*-}; done
for shift in noise light camera-large camera-small table-color; do
  for run in grids-16-ema-s2 grids-4-ema-s2 topk-16-ema-s2 random-16-ema-s2; do evaluate $ROOT/$run $shift; done
done
for shift in noise light camera-large camera-small table-color; do evaluate $ROOT/dense-ema-s1 $shift; done
# Then 50 episodes per task in distribution (issue 10 item 4) for every main row with a run on disk: 30 more per task
# on top of the 20 each already has (the evaluation reuses them; ~3 min per K-token row).
EP=50
for run in dense-ema-s1 grids-16-ema-s2 grids-4-ema-s2 topk-16-ema-s2 random-16-ema-s2; do evaluate $ROOT/$run none; done
# Then dense-ema seed 2 (~50 min on the quiet CPU), the main rows' last missing seed.
EP=20
row dense 2 dense 256
