# The report of stage 8's rows: benchmarks/results/metaworld_mt10_stage8.{md,json,png}. The runs of stages 5-7 were
# lost with a machine; their rows (dense-ema and the other EMA rows, same protocol, same 200 episode seeds) come
# from the committed metaworld_mt10_ema.json, so every new row is paired with them on the same episodes.
# metaworld_mt10_ema.md is kept as it is: regenerating it without the runs would drop its learning curve.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
PAIRS="grids-task-16-ema:dense-ema,grids-task-16-ema:grids-16-ema,grids-task-16-ema:topk-16-ema"
PAIRS+=",grids-task-16-ema:random-16-ema,grids-1-ema:dense-ema,grids-1-ema:grids-16-ema"
PAIRS+=",grids-heatmap-4-ema:grids-4-ema,grids-heatmap-1-ema:grids-1-ema,grids-center-16-ema:grids-16-ema"
python benchmarks/grid_report.py --root runs/mt10w --out benchmarks/results/metaworld_mt10_stage8 --steps 10000 \
  --episodes 20 --max-steps 150 --earlier benchmarks/results/metaworld_mt10_ema.json --reference dense-ema \
  --pairs "$PAIRS" --notes "Stage 8 of issue 10 (logs_mt10_pretrained/stage8.sh, 2026-12-03): rows trained with \
stage 5's protocol (10,000 steps, EMA 0.999, the cached MobileNetV2 features rebuilt from a regenerated data/mt10w) \
and evaluated on the same 200 episode seeds as every row of metaworld_mt10_ema.json, whose rows join here (their \
runs are gone from disk)."
