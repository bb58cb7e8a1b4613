# Stage 18 (issue 12; not run yet): stage 17's training under sensor noise at training seeds 1 and 2, so that its
# seed-0 result (under noise dense 84.5, GridS-16 84.0, top-K-16 59.0; clean-trained 30.0 / 33.0 / 54.5) has three
# seeds like the main rows. The same noisy feature copy as seed 0 (noise drawn per frame from seed 0; a training seed
# changes the initialisation, the batch order and which frames are read noisy). On the quiet 2 cores, with the data
# and both caches on disk: ~7 min per K-token row, ~52 min for dense, ~2.2 min per evaluation: ~80 min per seed
# (from a new checkout add ~1 h of data and caches). Every step resumes. Report: report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
grids data generate --tasks mt10 --episodes-per-task 50 --out $DATA --workers 2 2>&1 | tr '\r' '\n' | tail -1  # resumes
cache
echo "== $(date +%T) cache $ROOT/features_noise"  # resumes; skipped when complete
grids bench cache-features --encoder mobilenetv2 --data $DATA --out $ROOT/features_noise --perturbation noise \
  2>&1 | tr '\r' '\n' | tail -1
STEPS=10000; EP=20
for seed in 1 2; do
  for name in grids-16 topk-16 dense; do
    tokens=${name##*-}; [ $name = dense ] && tokens=256
    row $name-noiseaug $seed ${name%-*} $tokens --corrupted-features $ROOT/features_noise
    evaluate $ROOT/$name-noiseaug-ema-s$seed noise
  done
done
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
