# The coordinate heads at K = 16, 4 and 1 against top-K and random at equal K, at 50 episodes per task (issue 12
# item 4; stage15.sh): benchmarks/results/metaworld_mt10_heads_ep50.{md,json,png}. The main rows (dense, GridS-16,
# GridS-4, top-K-16, random-16) come from metaworld_mt10_ep50.json; the report also reads back its own JSON, so runs
# gone from disk keep their rows (a run on disk wins). Pairs are on the same training seed.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
OUT=benchmarks/results/metaworld_mt10_heads_ep50
EARLIER="benchmarks/results/metaworld_mt10_ep50.json"; [ -f $OUT.json ] && EARLIER+=" $OUT.json"
PAIRS="grids-heatmap-4-ema:grids-4-ema,grids-heatmap-4-ema:topk-4-ema,grids-heatmap-4-ema:random-4-ema"
PAIRS+=",grids-4-ema:topk-4-ema,grids-4-ema:random-4-ema,topk-4-ema:random-4-ema,grids-heatmap-4-ema:dense-ema"
PAIRS+=",grids-1-ema:topk-1-ema,grids-1-ema:random-1-ema,grids-heatmap-1-ema:grids-1-ema"
PAIRS+=",grids-heatmap-1-ema:topk-1-ema,grids-heatmap-1-ema:random-1-ema,grids-1-ema:dense-ema"
PAIRS+=",grids-heatmap-16-ema:grids-16-ema,grids-heatmap-16-ema:topk-16-ema,grids-heatmap-16-ema:dense-ema"
python benchmarks/grid_report.py --root runs/mt10w --out $OUT --steps 10000 --episodes 50 --max-steps 150 \
  --earlier $EARLIER --reference dense-ema --pairs "$PAIRS" --notes "Issue 12 item 4: each coordinate head at K = 16, \
4 and 1 against top-K and random at equal K (logs_mt10_pretrained/stage15.sh), on the main rows' protocol, seeds and \
episodes (metaworld_mt10_ep50.md, whose rows are read back here): 10,000 steps + EMA on the cached MobileNetV2 \
features, 50 evaluation episodes per task (500 per row and seed; the first 20 per task are metaworld_mt10_ema.md's). \
Pairs are on the same training seed; rows with fewer seeds are what has run so far."
