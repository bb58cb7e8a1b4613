# Stage 2 of the full-depth latency plan (issue 14; benchmarks/efficiency_notes.md): inference with regional
# torch.compile at batch 1 (π0 then π0.5; the eager batch-1 runs of stage 1 are skipped), then eager at batch 8,
# same settings as stage 1 (1 warm-up + 5 rounds, two threads, fp32) into the same folder, on the quiet 2 cores
# (nothing else running). Batch 1 compiled: ~10-15 min per model plus compilation; batch 8 eager: ~40 min per
# model (a guess from stage 1's 6 min at batch 1). Each finished run is saved at once; rerunning skips it.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for model in pi0 pi05; do
  echo "== $(date +%T) $model inference batch 1 compiled"
  python benchmarks/efficiency.py --part latency --out benchmarks/results/latency_full --groups inference \
    --models $model --batches 1 --threads 2 --repeats 5
done
for model in pi0 pi05; do
  echo "== $(date +%T) $model inference batch 8 eager"
  python benchmarks/efficiency.py --part latency --out benchmarks/results/latency_full --groups inference \
    --models $model --batches 8 --no-compile --threads 2 --repeats 5
done
