# Stage 2: the main rows on ALOHA, seed 0, in distribution: dense first (the costly row), then the K-token heads
# (one torch thread each, beside dense's evaluation), then their evaluations, then the report ($REPORT:
# benchmarks/results/aloha_chunk8.{json,md,png}; the main grid,
# chunks of 50, is stages 3-4's aloha.{json,md,png}). Resumable: a run with its final checkpoint is not retrained, a
# finished evaluation is not redone, and a killed evaluation resumes from its journal. EP=50: 50 episodes per
# task (100 per row), seeds 100000-100049, up to 300 steps each.
# Estimates (quiet 2 cores; the miniature run's numbers scaled, and MT10's measured ones for training, whose
# per-step cost is the same: the same 2 x 256 x 96 maps, 14-d instead of 4-d state and actions):
#   dense 5000 steps at batch 32: ~30-55 min (MT10: 30 min; miniature: ~0.65 CPU-s/step on one thread,
#   4.4 s/step wall at load ~5 and nice 10, which would be ~6 h);
#   each K-token head: ~4-7 min (MT10: 3-4 min; miniature grids-16: 0.6 s/step wall at load ~5);
#   one evaluation (100 episodes x <= 300 steps): ~20 CPU-ms per env step (policy + physics + rendering of
#   both views), <= 30,000 steps -> <= 10 CPU-min, ~5-8 min on two workers (less as policies succeed early;
#   at load ~5 it was 150-200 ms/step wall per worker: ~40-50 min per evaluation).
#   Whole stage: ~1.5-2 h quiet; ~10 h beside jobs like the miniature's neighbours (load ~5, nice 10).
# Dry run of the whole stage in miniature (8.7 min at load ~5, done 2026-12-02 on 2 demos per task):
#   STEPS=20 EP=1 MAX=20 THREADS=1 DATA=<tiny data> ROOT=<tmp runs> REPORT=<tmp>/aloha bash stage2.sh
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
REPORT=${REPORT}_chunk8
GIF=${GIF-$REPORT'_grids-16.gif'}
ROWS=("grids-16 grids 16" "grids-4 grids 4" "topk-16 topk 16" "random-16 random 16")
trained dense || train dense 0 dense 256
heads() {
  for row in "${ROWS[@]}"; do set -- $row; trained $1 || THREADS=1 train $1 0 $2 $3; done
}
heads > $ROOT/heads.log 2>&1 &
evaluate $ROOT/dense-s0 none
wait; cat $ROOT/heads.log
# where GridS-16 looks: its first transfer-cube episode as a GIF (both views, the 16 points per view)
for row in "${ROWS[@]}"; do set -- $row; evaluate $ROOT/$1-s0 none $([ $1 = grids-16 ] && echo $GIF); done
report "ALOHA sim (gym-aloha 0.1.5), transfer-cube and insertion, scripted demonstrations (50 per task), seed 0, \
$EP episodes per task, gym-aloha's 300-step limit."
