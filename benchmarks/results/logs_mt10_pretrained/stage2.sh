# Stage 2 (session of 2026-12-02): the main reduced rows at seed 0, then every main row evaluated in distribution.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
train grids-16 0 grids 16
train grids-4 0 grids 4
train topk-16 0 topk 16
train random-16 0 random 16
for run in dense grids-16 grids-4 topk-16 random-16; do evaluate $ROOT/$run-s0 none; done
