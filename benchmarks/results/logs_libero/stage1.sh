# Stage 1: 50 expert demonstrations per LIBERO-Object task from fresh placements (resumable; ~20 s per episode
# and worker on this CPU, so ~1.5 h on two cores), then the feature cache.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_libero/funcs.sh
generate && cache  # WORKERS=1 while other jobs share the CPU
