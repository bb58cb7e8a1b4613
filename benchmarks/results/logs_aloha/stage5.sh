# Stage 5 (issue 15, fifth session of 2026-12-02; stage 1's data and cache and stages 3-4's runs still on disk):
# why top-K-16 collapses to 0 % on ALOHA while its training loss matches GridS-16's. First where seed 0's
# top-K-16 and GridS-16 look (points.sh: closed-loop pictures, point statistics, retention; ~5 min each), then
# seed 1 of grids-16, topk-16, random-16 with chunks of 50 (one torch thread each, beside MT10's stage 5: ~10-15
# min to train, ~4-7 min to evaluate), then the report with the seed-1 rows (paired on the same episode seeds).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
RUNS="topk-16 grids-16" bash benchmarks/results/logs_aloha/points.sh
ROOT=${ROOT}_chunk50
for row in "grids-16 grids 16" "topk-16 topk 16" "random-16 random 16"; do
  set -- $row
  trained $1 1 || THREADS=1 train $1 1 $2 $3 --chunk-size 50
  evaluate $ROOT/$1-s1 none
done
report "$CHUNK50"
