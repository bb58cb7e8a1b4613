# Stage 2 (session of 2026-12-02): the main rows at seed 0, each evaluated in distribution right after training.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
evaluate $ROOT/dense-s0 none
for row in "grids-16 grids 16" "topk-16 topk 16" "random-16 random 16" "grids-4 grids 4"; do
  set -- $row
  train $1 0 $2 $3
  evaluate $ROOT/$1-s0 none
done
