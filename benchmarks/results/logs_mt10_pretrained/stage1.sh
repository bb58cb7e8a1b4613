# Stage 1 (session of 2026-12-02): the dense row, seed 0, with a learning curve (checkpoints every 1000 kept).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=5000 train dense 0 dense 256 --keep-every 1000
