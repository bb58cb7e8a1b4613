# Stage 7 (issue 15, sixth session of 2026-12-02; stage 1's data and cache and stages 3-6's runs still on disk):
# the second training seed of the other main rows, so that every main row has per-seed deltas: topk-16 seed 1
# (resumes from stage 5's checkpoint), random-16, dense and grids-4 seed 1, all with chunks of 50 and one torch
# thread at nice 19 beside MT10's stage 6; then the heatmap head (issue 12) at seed 0 and the report.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
ROOT=${ROOT}_chunk50
for row in "topk-16 1 topk 16" "random-16 1 random 16" "dense 1 dense 256" "grids-4 1 grids 4" \
           "grids-heatmap-16 0 grids-heatmap 16"; do
  set -- $row
  trained $1 $2 || THREADS=1 train $1 $2 $3 $4 --chunk-size 50
  evaluate $ROOT/$1-s$2 none
done
report "$CHUNK50"
