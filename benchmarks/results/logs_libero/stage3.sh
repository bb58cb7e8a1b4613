# Stage 3: why does dense reach only 28.5 % on LIBERO-Object (stage 2) while its training loss fell to 0.016 and
# the expert solves the same official init states 100/100? Two evaluations of dense (chunks of 50, below):
#   1. official init states again, now recording which objects each episode lifted: "lifted another object" high
#      = the policy misreads the instruction (which of the scene's objects to pick); "lifted the target" high with
#      low success = it grasps the right one but fails to carry or place it;
#   2. as many fresh placements per task, drawn from the evaluation seeds like the demonstrations' (STARTS=fresh):
#      much better there = the official states are the gap; the same = it is the policy.
# One session from a fresh checkout (data/ and runs/ do not carry over), on the quiet 2 cores: the data ~65 min
# (two workers), the cache ~52 min, dense ~26 min, then ~2.5 min per episode-per-task of each evaluation (10
# tasks, ~4.5 episodes/min): EP=5 (the default here) fits the three hours; EP=20 repeats stage 2's states.
# Report: python benchmarks/grid_report.py --root runs/libero_object --out benchmarks/results/libero_object \
#   --episodes $EP
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-5}
. benchmarks/results/logs_libero/funcs.sh
generate && cache
# Chunks of 50 (2.5 s at 20 Hz; openpi's LIBERO chunk length) instead of 8: on ALOHA the same change took dense from
# 2 % to 55 % (bench_README, aloha*); stage 2's chunk-8 dense (28.5 % on 20 states) is the reference.
trained dense-c50 || train dense-c50 0 dense 256 --chunk-size 50
evaluate $ROOT/dense-c50-s0 none
STARTS=fresh evaluate $ROOT/dense-c50-s0 none
