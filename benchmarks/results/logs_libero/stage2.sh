# Stage 2: the main rows on LIBERO-Object, seed 0, in distribution: dense first (the costly row), then the
# K-token heads (one torch thread each, beside dense's evaluation), then their evaluations. Resumable: a run
# with its final checkpoint is not retrained, a finished evaluation is not redone, and a killed evaluation
# resumes from its journal. EP=20: the first 20 of LIBERO's 50 official init states per task (200 episodes).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}  # before funcs.sh, whose default is all 50
. benchmarks/results/logs_libero/funcs.sh
ROWS=("grids-16 grids 16" "grids-4 grids 4" "topk-16 topk 16" "random-16 random 16" "grids-1 grids 1")
trained dense || train dense 0 dense 256
heads() {
  for row in "${ROWS[@]}"; do set -- $row; trained $1 || THREADS=1 train $1 0 $2 $3; done
}
heads > $ROOT/heads.log 2>&1 &
evaluate $ROOT/dense-s0 none
wait; cat $ROOT/heads.log
for row in "${ROWS[@]}"; do set -- $row; evaluate $ROOT/$1-s0 none; done
