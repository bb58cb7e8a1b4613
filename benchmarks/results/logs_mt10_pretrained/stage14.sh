# Stage 14 (issue 10 item 4), 2026-12-03: 50 episodes per task for every main row at all three seeds. The K-token
# main rows' seed-0 and seed-1 runs are gone from disk (only their 20-episode JSON rows remain), so they are retrained
# with the same command (~6 min each on the quiet 2 cores), evaluated over 20 episodes per task (which the earlier
# JSON rows let one check against), then 30 more (~3.5 min); then dense-ema seed 0 (~52 min to train), the same;
# then the 50-episode report. Every step resumes. (The stage's log was kept in /tmp and lost with that session.)
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for seed in 0 1; do
  for name in grids-16 grids-4 topk-16 random-16; do
    EP=20; row $name $seed ${name%-*} ${name##*-}
    EP=50; evaluate $ROOT/$name-ema-s$seed none
  done
done
EP=20; row dense 0 dense 256
EP=50; evaluate $ROOT/dense-ema-s0 none
bash benchmarks/results/logs_mt10_pretrained/report_ep50.sh
# report_ema.sh is not rerun here: with the earlier seed-0 runs deleted it would drop their shift rows; the committed
# metaworld_mt10_ema.* holds the same in-distribution episodes (repro_check.py: 1800 / 1800 identical).
