# Stage 17 (issues 10 and 12; run 2026-12-04, stage17.log; seeds 1 and 2: stage18.sh): training under sensor noise as
# a lever on the noise collapse. Under the `noise` shift dense falls to 30.0 / 17.5 / 15.5 % (three seeds) and
# GridS-16 with it, while top-K-16 and random-16 hold ~54 %. Here the heads train on the clean cache and, with
# probability 0.5 per frame, on the same frames cached through the evaluation's noise (sigma 12; `cache-features
# --perturbation noise`, `train --corrupted-features`). Question: does GridS-16 then keep dense's success under noise,
# and does it still beat top-K-16 at equal K? Seed 0, 200 episodes per number, in distribution and under noise. On the
# quiet 2 cores, from a new checkout: ~32 min of data and clean features, ~27 min of noisy features, ~7 min per
# K-token row, ~52 min for dense, ~2.2 min per evaluation: ~2 h 15 min. Every step resumes. Report: report_ema.sh (its
# pairs name these rows).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
prepare  # the data and the feature cache, resumed
echo "== $(date +%T) cache $ROOT/features_noise"
grids bench cache-features --encoder mobilenetv2 --data $DATA --out $ROOT/features_noise --perturbation noise \
  2>&1 | tr '\r' '\n' | tail -1
STEPS=10000; EP=20
for seed in ${SEEDS:-0}; do  # stage 17 ran seed 0; stage18.sh runs SEEDS="1 2"
  for name in grids-16 topk-16 dense; do
    tokens=${name##*-}; [ $name = dense ] && tokens=256
    row $name-noiseaug $seed ${name%-*} $tokens --corrupted-features $ROOT/features_noise
    evaluate $ROOT/$name-noiseaug-ema-s$seed noise
  done
done
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
