# Stage 12 (issue 10 item 4), after stage 11: dense-ema seed 2 (stage 11's last row) under the five shifts (~2.5 min
# each), so that dense is paired with every other main row under the shifts at seed 2 (the K-token rows' seed-2
# shifts are stage 11's; dense's seed-1 shifts have no partner, the K-token runs of seed 1 being gone), and at 50 episodes per
# task (30 more on top of its 20, ~3 min), so that every main row has 500 paired episodes at seed 2; then the
# report of the 50-episode evaluations, report_ep50.sh, and report_ema.sh. Every step resumes.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for shift in noise light camera-large camera-small table-color; do evaluate $ROOT/dense-ema-s2 $shift; done
EP=50
for run in dense-ema-s2 grids-16-ema-s2 grids-4-ema-s2 topk-16-ema-s2 random-16-ema-s2 dense-ema-s1; do
  evaluate $ROOT/$run none
done
bash benchmarks/results/logs_mt10_pretrained/report_ep50.sh
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
