# Stage 4 of the full-depth latency plan (issue 14; benchmarks/efficiency_notes.md; run 2026-12-04 12:34-14:02,
# stage4.log): inference with regional torch.compile at batch 8, π0 then π0.5, same settings as the rest of the folder
# (1 warm-up + 5 rounds, two threads, fp32; the folder refuses other settings), on the quiet 2 cores (nothing else
# running). Eager batch 8 took 36 min (π0) and 47 min (π0.5) in stage 2; compiled batch 1 was no faster than eager, so
# expect about the same plus compilation: ~1.5 h in all. Each finished run is saved at once; the eager runs already in
# the folder are skipped.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for model in pi0 pi05; do
  echo "== $(date +%T) $model inference batch 8 compiled"
  python benchmarks/efficiency.py --part latency --out benchmarks/results/latency_full --groups inference \
    --models $model --batches 8 --threads 2 --repeats 5
done
