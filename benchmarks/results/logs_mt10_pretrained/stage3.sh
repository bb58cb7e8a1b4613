# Stage 3 (session of 2026-12-02): GridS with the heatmap coordinate head (issue 12), the camera-large and light
# shifts for dense and GridS-16 (one seed), and the dense learning curve (10 episodes per task at kept checkpoints).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
train grids-heatmap-16 0 grids-heatmap 16
evaluate $ROOT/grids-heatmap-16-s0 none
for shift in light camera-large; do for run in dense grids-16; do evaluate $ROOT/$run-s0 $shift; done; done
for step in 1000 3000; do
  out=$ROOT/dense-s0/curve_step${step}_10ep_none_${MAX}.json
  [ -f $out ] || grids bench eval --run $ROOT/dense-s0/checkpoints/step_000$step --tasks mt10 --episodes 10 \
    --workers 2 --max-steps $MAX --out $out 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -1
done
