# Stage 9 (issues 10 and 12), 2026-12-03: takes over from stage 8 once its rows for issue 12 (heatmap head at
# K = 4 and 1, the authors' centre init) are evaluated, because the main rows' seeds come before the other
# reducers (DEVELOPERS.md: main rows with all seeds first). Order: seed 2 of the K-token main rows (GridS-16,
# GridS-4, top-K-16, random-16; ~9 min to train and ~4 min to evaluate each), the shifts of GridS-16 conditioned on
# the instruction (issue 12: OOD of the heads; 200 episodes each, ~4-5 min), stage 8's remaining rows (pool,
# uniform, perceiver, ToMe, nearest, no coordinate embedding; each lands within the session), where the points of
# the task-aware, centre-init and heatmap-4 heads look (points.sh, ~5 min each), then dense-ema seed 1
# (~80 min; runs do not always survive between sessions, so it goes last). Every step resumes. Report:
# report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for name in grids-16 grids-4 topk-16 random-16; do row $name 2 ${name%-*} ${name##*-}; done
for shift in camera-small camera-large light noise; do evaluate $ROOT/grids-task-16-ema-s0 $shift; done
bash benchmarks/results/logs_mt10_pretrained/stage8.sh  # its remaining rows: it skips the finished ones
RUNS="grids-task-16-ema grids-center-16-ema grids-heatmap-4-ema" bash benchmarks/results/logs_mt10_pretrained/points.sh
row dense 1 dense 256
