# The dense row's learning curve: 10 episodes per task at kept checkpoints (the final point is stage 2's 20-episode number).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
for step in ${CURVE_STEPS:-1000 3000}; do
  out=$ROOT/dense-s0/curve_step${step}_10ep_none_${MAX}.json
  [ -f $out ] || { echo "== $(date +%T) eval checkpoint $step"; grids bench eval --run $ROOT/dense-s0/checkpoints/step_$(printf %07d $step) \
    --tasks mt10 --episodes 10 --workers 2 --max-steps $MAX --out $out 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -1; }
done
