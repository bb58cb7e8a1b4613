# Stage 6 (issues 15 and 12; after stage 5): stage 5's pictures showed why top-K-16 (by feature norm) fails on
# ALOHA: the 16 largest-norm MobileNetV2 tokens lie on the black band under the table, the same tokens in every
# frame (std over frames 0.0000 on the angle view), so the policy never sees the cube. The fairer discrete
# baseline is a *learned* score: top-K by attention from a learned query plus the instruction (FastV-style,
# straight-through gradient; topk-query-16). Then the initialisation study of issue 12 (the authors' init, all
# points at the centre: grids-center-16). (The heatmap head, grids-heatmap-16, next: cut for the clock.)
# Seed 0, chunks of 50, each trained (one thread, beside MT10's stage 5), evaluated (50 episodes per task) and
# pictured; then the report.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
ROOT=${ROOT}_chunk50
PAIRS="$PAIRS,topk-query-16:topk-16,grids-16:topk-query-16,grids-center-16:grids-16"
row() {  # name reducer tokens [train flags]
  local name=$1 reducer=$2 tokens=$3; shift 3
  trained $name || THREADS=1 train $name 0 $reducer $tokens --chunk-size 50 "$@"
  evaluate $ROOT/$name-s0 none
  RUNS=$name bash benchmarks/results/logs_aloha/points.sh
}
row topk-query-16 topk 16 --reducer-options '{"score": "query"}' --task-aware
row grids-center-16 grids 16 --reducer-options '{"init": "center"}'
report "$CHUNK50 topk-16 ranks tokens by feature norm, topk-query-16 by a learned query plus the instruction; \
grids-center-16 starts its points at the image centre (the authors' init), grids-16 spread (ours)."
