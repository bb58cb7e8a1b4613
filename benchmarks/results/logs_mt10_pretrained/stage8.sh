# Stage 8 (issues 10 and 12, after stage 7): the rest of the grid on the 10,000-step + EMA protocol, seed 0, each
# ~9 min to train and ~3.5-5 min to evaluate on the quiet 2 cores. First the instruction-conditioned GridS-16
# (--task-aware): on LIBERO-Object it kept dense's success (89.0 vs 93.0, p = 0.22) where the paper's head lost 15
# points. Then GridS-1; the heatmap head at K = 4 and 1; the authors' centre initialisation; the other reducers at
# K = 16 (pool, uniform, perceiver, ToMe, nearest read, no coordinate embedding). Every step resumes (this
# checkout lacks data/mt10w: ~35 min to generate and cache first). Report: report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
prepare  # the data and the feature cache, resumed
STEPS=10000
while read -r name reducer tokens extra; do row $name 0 $reducer $tokens $extra; done <<'ROWS'
grids-task-16 grids 16 --task-aware
grids-1 grids 1
grids-heatmap-4 grids-heatmap 4
grids-heatmap-1 grids-heatmap 1
grids-center-16 grids 16 --reducer-options {"init":"center"}
pool-16 pool 16
uniform-16 uniform 16
perceiver-16 perceiver 16
tome-16 tome 16
grids-nearest-16 grids-nearest 16
grids-nocoord-16 grids 16 --no-coord-embedding
ROWS
