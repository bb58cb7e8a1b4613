# Stage 13 (issue 12, the noise collapse): do fixed layouts hold under sensor noise? uniform-16 and pool-16 read
# fixed points, as random-16 does at evaluation, but are as strong as GridS-16 in distribution (88.5 / 90.5, seed 0).
# If they collapse under noise like dense (30.0) and GridS-16 (33.0) at seed 0, moving points are not the cause;
# if they hold like random-16, they are. ~2.5 min per evaluation.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for run in uniform-16-ema-s0 pool-16-ema-s0; do evaluate $ROOT/$run noise; done
