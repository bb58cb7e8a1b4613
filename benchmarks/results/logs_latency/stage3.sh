# Stage 3 of the full-depth latency plan (issue 14; benchmarks/efficiency_notes.md): one training step (forward +
# backward, no optimizer), batch 8, bf16 weights and gradients with recomputation (what fits in this machine's
# 24 GiB), π0 then π0.5, on the quiet 2 cores (every other job stopped with SIGSTOP while it runs). 1 warm-up +
# 2 rounds (not stage 1's 5: ~120 TFLOP per π0 round, ~191 per π0.5 round; at the ~125 GFLOP/s that batch-8
# inference reached, ~50 min and ~80 min; each model is saved when done, so each fits a session on its own; 3
# rounds for π0 would not have fitted the session of 2026-12-04). Rerunning skips a finished model; the folder
# refuses other settings, so π0.5 gets 2 rounds too.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
for model in pi0 pi05; do
  echo "== $(date +%T) $model training batch 8 (bf16, checkpointing)"
  python benchmarks/efficiency.py --part latency --out benchmarks/results/latency_full --groups training \
    --models $model --threads 2 --repeats 2
done
