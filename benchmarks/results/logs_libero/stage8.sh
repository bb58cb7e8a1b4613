# Stage 8 (issue 12, after stage 7): the heatmap head (K score maps, soft-argmax) with its queries conditioned on
# the instruction (--task-aware). On LIBERO-Object the heatmap head alone (74.5 %) did no better than the pooled
# head (78.0), and conditioning the pooled head on the instruction lifted it to 89.0: does the same lift the
# heatmap head, whose points can follow content? Seed 0, the first 20 official states per task (~13 min).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}
. benchmarks/results/logs_libero/funcs.sh
after_stage5
row grids-heatmap-task-16 0 grids-heatmap 16 --task-aware
