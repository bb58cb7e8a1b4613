# Stage 4 (session of 2026-12-02, second): seeds 1 and 2 of the main rows, each evaluated in distribution
# (20 episodes per task, the same episode seeds as seed 0) right after training.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
THREADS=1  # the CPU is shared with other work this session: one thread is faster than two under contention
for seed in 1 2; do
  for row in "dense dense 256" "grids-16 grids 16" "grids-4 grids 4" "topk-16 topk 16" "random-16 random 16"; do
    set -- $row
    [ -f $ROOT/$1-s$seed/checkpoints/step_000$STEPS/model.safetensors ] || train $1 $seed $2 $3
    evaluate $ROOT/$1-s$seed none
  done
done
