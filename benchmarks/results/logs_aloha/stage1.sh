# Stage 1: 50 expert demonstrations per ALOHA task (transfer-cube, insertion) at 128 px, both cameras, then the
# feature cache. Resumable: rerun to continue (a finished dataset or cache is not redone).
# Estimates from the miniature run (2 demos per task, 2026-12-02, at nice 10 on the 2 shared cores while the
# LIBERO feature cache ran, load ~5): ~3.5 CPU-s per episode (expert plan + joint replay + rendering), 34 s wall
# there; ~250 frames per episode, so ~25,000 frames. Generation: ~5-10 min with two workers on a quiet CPU
# (~1 h on one worker at that load). Cache: 54 CPU-s per 1,000 frames (MobileNetV2 on both views), so
# ~20-25 min quiet (LIBERO's ran at ~21 frames/s), ~4 h at that load; 25,000 x 2 x 256 x 96 float16 = ~2.5 GB.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
generate && cache  # WORKERS=1 while other jobs share the CPU
