# Stage 9 (issue 12 item 4 on LIBERO; written 2026-12-04, not yet run): each coordinate head at K = 4 and 1 against
# top-K and random at equal K on LIBERO-Object, seed 0, LIBERO's protocol (all 50 official states per task), so
# libero_object.md has at K = 4 and 1 what it has at K = 16 (the pooled head at 4 and 1 is there: 85.2, 80.4).
# A fresh checkout first rebuilds stage 5's data (~65 min with two workers) and cache (~52 min, 5.8 GiB); the rows
# need neither dense nor GridS-16 on disk: the report reads their committed episodes back (--earlier). Each row
# ~13 min for 20 states per task and ~8 min for the other 30: six rows ~2 h. Resumes: rerun the script.
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
EP=${EP:-20}
. benchmarks/results/logs_libero/funcs.sh
generate && cache
STEPS=10000
for k in 4 1; do
  row grids-heatmap-$k 0 grids-heatmap $k
  row topk-$k 0 topk $k
  row random-$k 0 random $k
  for run in grids-heatmap-$k topk-$k random-$k; do EP=50 evaluate $ROOT/$run-ema-c50-s0 none; done
done
OUT=benchmarks/results/libero_object
committed() {  # pairs|notes: the report's, as committed, with stage 9's added (once)
  python - $OUT.json $1 <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
pairs = report["command"].split("--pairs ")[1].strip('"').split(",")
for k in (4, 1):  # each head against top-K, random and dense at equal K
    pairs += [f"{run}-{k}-ema-c50:{ref}-ema-c50" for ref in (f"topk-{k}", f"random-{k}", "dense")
              for run in ("grids-heatmap", "grids")]
    pairs += [f"grids-heatmap-{k}-ema-c50:grids-{k}-ema-c50", f"topk-{k}-ema-c50:random-{k}-ema-c50"]
stage9 = " Stage 9 (issue 12 item 4): the heatmap head, top-K and random at K = 4 and 1 (logs_libero/stage9.sh)."
notes = report["notes"] + ("" if stage9 in report["notes"] else stage9)
print(",".join(dict.fromkeys(pairs)) if sys.argv[2] == "pairs" else notes)
PY
}
python benchmarks/grid_report.py --root $ROOT --out $OUT --steps 10000 --episodes 50 --earlier $OUT.json \
  --reference dense-ema-c50 --pairs "$(committed pairs)" --notes "$(committed notes)"
