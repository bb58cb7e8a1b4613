# Stage 10 (issues 10 and 12), 2026-12-03: stage 9 found GridS-16 conditioned on the instruction far above dense
# under the shifts at seed 0 (noise +33.5, light +13.0, camera-large +12.0; dense-ema's and grids-16-ema's shift
# episodes are stage 7's, run before evaluation stopped rendering the frames the policy does not see, 3784fe5).
# So, before the rest of stage 9: seeds 1 and 2 of that head (~6 min to train, ~2 min to evaluate each), then the
# four shifts for both and for grids-16-ema seed 2, a run trained and evaluated on today's code (200 episodes each,
# ~2-3 min), noise first. Then stage 9's remainder (it skips what is done). Report: report_ema.sh.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
STEPS=10000
for seed in 1 2; do row grids-task-16 $seed grids 16 --task-aware; done
for shift in noise light camera-large camera-small; do
  for run in grids-task-16-ema-s1 grids-task-16-ema-s2 grids-16-ema-s2; do evaluate $ROOT/$run $shift; done
done
bash benchmarks/results/logs_mt10_pretrained/stage9.sh
