# The report of the EMA grid (stages 5-12): benchmarks/results/metaworld_mt10_ema.{md,json,png}. The rows without
# -ema come from the committed metaworld_mt10.json (5000 steps, no EMA); the EMA rows of stages 5-7 from the
# committed metaworld_mt10_ema.json itself (their runs were lost with a machine; the JSON keeps every episode and
# the learning curve), so stage 8's and 9's rows are paired with them on the same episodes. A run on disk wins.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
PAIRS="grids-16-ema:dense-ema,grids-4-ema:dense-ema,grids-heatmap-16-ema:dense-ema,grids-16-ema:topk-16-ema"
PAIRS+=",grids-16-ema:random-16-ema,grids-4-ema:topk-16-ema,grids-4-ema:random-16-ema,grids-heatmap-16-ema:grids-16-ema"
PAIRS+=",grids-4-ema:grids-16-ema,grids-16-ema:grids-16,topk-16-ema:topk-16,dense-ema:dense"
PAIRS+=",grids-task-16-ema:dense-ema,grids-task-16-ema:grids-16-ema,grids-task-16-ema:topk-16-ema"
PAIRS+=",grids-1-ema:dense-ema,grids-1-ema:grids-16-ema,grids-heatmap-4-ema:grids-4-ema,grids-center-16-ema:grids-16-ema"
PAIRS+=",grids-heatmap-1-ema:grids-1-ema,grids-heatmap-4-ema:dense-ema,pool-16-ema:grids-16-ema,uniform-16-ema:grids-16-ema"
PAIRS+=",perceiver-16-ema:grids-16-ema,tome-16-ema:grids-16-ema,grids-nearest-16-ema:grids-16-ema"
PAIRS+=",grids-nocoord-16-ema:grids-16-ema,grids-4-ema:topk-4-ema,grids-4-ema:random-4-ema,grids-1-ema:topk-1-ema"
PAIRS+=",grids-1-ema:random-1-ema,grids-heatmap-4-ema:topk-4-ema,grids-heatmap-1-ema:topk-1-ema"
PAIRS+=",topk-16-ema:dense-ema,random-16-ema:dense-ema"
PAIRS+=",grids-heatmap-16-ema:topk-16-ema,grids-heatmap-16-ema:random-16-ema"  # stage 19 (shifts)
PAIRS+=",grids-16-noiseaug-ema:grids-16-ema,topk-16-noiseaug-ema:topk-16-ema,dense-noiseaug-ema:dense-ema"  # stage 17
PAIRS+=",grids-16-noiseaug-ema:dense-noiseaug-ema,grids-16-noiseaug-ema:topk-16-noiseaug-ema"
python benchmarks/grid_report.py --root runs/mt10w --out benchmarks/results/metaworld_mt10_ema --steps 10000 \
  --episodes 20 --max-steps 150 --earlier benchmarks/results/metaworld_mt10_ema.json \
  benchmarks/results/metaworld_mt10.json --reference dense-ema \
  --pairs "$PAIRS" --notes "Stages 5-12 of issue 10 (logs_mt10_pretrained/stage{5,...,12}.sh, 2026-12-02 and 03; stages 8-11 on \
data and features regenerated after a machine was lost): every main row trained with stage 5's protocol (10,000 steps = 8.5 passes over the frames, an EMA \
of the weights with decay 0.999, evaluated with the EMA weights) on the same cached MobileNetV2 features and the \
same 200 episode seeds as every other row, so every comparison is paired; the rows without -ema are \
metaworld_mt10.json's (5000 steps, no EMA, runs of earlier sessions). The reference row is dense-ema. Its \
5000-step checkpoint (EMA, learning rate halfway down the cosine) is the learning curve's first point."
