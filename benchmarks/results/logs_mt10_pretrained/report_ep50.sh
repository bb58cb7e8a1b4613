# The main rows at 50 episodes per task (500 per row, issue 10 item 4): benchmarks/results/metaworld_mt10_ep50.{md,json,png}.
# Only the runs on disk with a 50-episode evaluation: seed 2 of every main row and dense seed 1 (stage 11's end,
# stage 12), seeds 0 and 1 of the K-token rows and dense seed 0 (stage 14, retrained).
# The first 20 episodes per task are the ones metaworld_mt10_ema.md counts. The report's own JSON is read back
# (--earlier), so a rerun without the runs on disk rebuilds it (a run on disk wins).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
PAIRS="grids-16-ema:dense-ema,grids-4-ema:dense-ema,grids-16-ema:topk-16-ema,grids-16-ema:random-16-ema"
PAIRS+=",grids-4-ema:topk-16-ema,grids-4-ema:random-16-ema,grids-4-ema:grids-16-ema,topk-16-ema:random-16-ema"
python benchmarks/grid_report.py --root runs/mt10w --out benchmarks/results/metaworld_mt10_ep50 --steps 10000 \
  --episodes 50 --max-steps 150 --earlier benchmarks/results/metaworld_mt10_ep50.json --reference dense-ema --pairs "$PAIRS" --notes "Issue 10's main rows at 50 \
evaluation episodes per task (500 per row and seed; logs_mt10_pretrained/stage11.sh's end, stage12.sh, stage14.sh): the same \
10,000-step + EMA protocol and cached MobileNetV2 features as metaworld_mt10_ema.md, whose 200 episodes per row are \
the first 20 per task of these. Every seed with a 50-episode evaluation on disk (stage 14 retrained the K-token \
rows' seeds 0 and 1 and dense seed 0; their runs are gone since, the report is rebuilt from its own JSON, which \
keeps every episode); pairs are on the same training seed, the main table's Δ too (dense's own seeds 1 and 2 against \
its seed 0: the spread between seeds)."
