# Stage 5 (issue 10: dense >= 80 %?), one session from a fresh checkout, ~2 h on the quiet 2 cores: the data and
# its feature cache (~35 min), then dense seed 0 for 10,000 steps with an EMA of the weights (decay 0.999; ~60 min,
# twice stage 1's passes over the frames), its checkpoints at 5000 and 10000 kept and each evaluated with the EMA
# weights, 20 episodes per task, the same seeds as every row (~5 min each). Dense without EMA at 5000 steps:
# 77.5 % (seed 0) and 75.5 % (seed 1); grids-4 82.5 / 80.0.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
echo "== $(date +%T) generate $DATA"
prepare  # the data and the feature cache, resumed
STEPS=10000 train dense-ema 0 dense 256 --ema 0.999 --keep-every 5000
for step in 5000 10000; do
  out=$ROOT/dense-ema-s0/eval_step${step}_${EP}ep_none_${MAX}.json
  [ -f $out ] || { echo "== $(date +%T) eval dense-ema step $step"; grids bench eval --run \
    $ROOT/dense-ema-s0/checkpoints/step_$(printf %07d $step) --tasks $TASKS --episodes $EP --workers 2 \
    --max-steps $MAX --out $out 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -1; }
done
