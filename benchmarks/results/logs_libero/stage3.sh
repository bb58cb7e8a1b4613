# Stage 3: why does dense reach only 28.5 % on LIBERO-Object (stage 2) while its training loss fell to 0.016 and
# the expert solves the same official init states 100/100? Two evaluations of dense, 20 episodes per task each:
#   1. the first 20 official init states again, now recording which objects each episode lifted: "lifted another
#      object" high = the policy misreads the instruction (which of the scene's objects to pick), "lifted the
#      target" high with low success = it grasps the right one but fails to place it;
#   2. 20 fresh placements per task drawn from the evaluation seeds like the demonstrations' (STARTS=fresh): much
#      better there = the official states are the gap; the same = it is the policy.
# A fresh checkout has no data/ or runs/: run stage1.sh first (data ~30 min with two workers on a quiet CPU, the
# cache ~50 min); dense's training is redone here if missing (~26 min). Each evaluation ~45 min on two workers.
# Report: python benchmarks/grid_report.py --root runs/libero_object --out benchmarks/results/libero_object
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}
. benchmarks/results/logs_libero/funcs.sh
trained dense || train dense 0 dense 256
evaluate $ROOT/dense-s0 none
STARTS=fresh evaluate $ROOT/dense-s0 none
