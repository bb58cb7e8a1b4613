# Stage 4: the rest of the K-token rows with chunks of 50 (stage 3's protocol): grids-4, topk-16, random-16, each
# trained with two threads (~4-5 min) and evaluated right after (50 episodes per task, ~3.5 min), then the report.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
ROOT=${ROOT}_chunk50
for row in "grids-4 grids 4" "topk-16 topk 16" "random-16 random 16"; do
  set -- $row
  trained $1 || train $1 0 $2 $3 --chunk-size 50
  evaluate $ROOT/$1-s0 none
done
report "$CHUNK50"
