# Stage 3: LIBERO-Object on the protocol that took MT10's dense to 87.5 % (10,000 steps, EMA 0.999) with ALOHA's
# lesson (chunks of 50, openpi's LIBERO chunk length; on ALOHA it took dense from 2 % to 55 %). Stage 2's dense
# (5,000 steps, chunks of 8, no EMA) reached 28.5 % on 20 official states per task although its training loss fell
# to 0.016 and the expert solves the same states 100/100.
#   1. GridS-16 first: ~10 min to train, ~12 min for EP=5 (50 official states): a cheap first read of the protocol;
#   2. dense (the costly row, ~80 min to train), then its evaluation on the official init states, recording which
#      objects each episode lifted ("lifted another object" high = it misreads which object to pick), and on as
#      many fresh placements drawn like the demonstrations' (STARTS=fresh): much better there = the official
#      states are the gap; the same = it is the policy.
# Every step resumes (a run from its last checkpoint, an evaluation from its journal); the data and cache are made
# only where this checkout lacks them (~65 min with two workers and ~52 min on the quiet 2 cores).
# Report: python benchmarks/grid_report.py --root runs/libero_object --out benchmarks/results/libero_object \
#   --steps 10000 --episodes $EP --reference dense-ema-c50
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-5}
. benchmarks/results/logs_libero/funcs.sh
generate && cache
STEPS=10000
trained grids-16-ema-c50 || train grids-16-ema-c50 0 grids 16 --chunk-size 50 --ema 0.999
evaluate $ROOT/grids-16-ema-c50-s0 none
trained dense-ema-c50 || train dense-ema-c50 0 dense 256 --chunk-size 50 --ema 0.999
evaluate $ROOT/dense-ema-c50-s0 none
STARTS=fresh evaluate $ROOT/dense-ema-c50-s0 none
