# Stage 1 of the full-depth latency plan (issue 14; benchmarks/efficiency_notes.md): inference, batch 1, eager,
# π0 then π0.5, 1 warm-up + 5 rounds, two threads, on the quiet 2 cores (every other job stopped with SIGSTOP
# while it runs; the load average is recorded with every round). ~10 min per model here. Each finished run is
# saved to benchmarks/results/latency_full/ at once; rerunning skips it. Later stages add batch 8, compiled
# runs and training to the same folder (same settings: repeats 5, threads 2, fp32 inference).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for model in pi0 pi05; do
  echo "== $(date +%T) $model inference batch 1 eager"
  python benchmarks/efficiency.py --part latency --out benchmarks/results/latency_full --groups inference \
    --models $model --batches 1 --no-compile --threads 2 --repeats 5
done
