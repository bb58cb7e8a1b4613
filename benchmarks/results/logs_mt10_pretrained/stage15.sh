# Stage 15 (issue 12 item 4; started 2026-12-04, for the sessions after stage 14): each coordinate head at K = 16, 4,
# 1 against top-K and random at equal K, on the main rows' seeds and episodes (three training seeds, 50 episodes per
# task). The pooled head at K = 16 and 4, dense, top-K-16 and random-16 have them (metaworld_mt10_ep50.md); the other
# rows have seed 0 over 20 episodes per task only, and their runs are gone. On the quiet 2 cores a row takes ~7 min to
# train, ~2.5 min for 20 episodes per task and ~3.5 min for 30 more: 24 rows of ~13 min, ~5 h over three sessions. The
# order completes one comparison at all three seeds before the next: K = 4 (heatmap head, top-K, random), then K = 1
# (pooled and heatmap heads, top-K, random), then the heatmap head at K = 16. Seed-0 rows are retrained (retrained
# runs reproduce the earlier ones episode for episode, repro_check.py). Every step resumes: rerun the script; a row
# already in metaworld_mt10_heads_ep50.json whose run is gone is skipped. Reports: report_ema.sh (20 episodes per
# task), report_heads_ep50.sh (50).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_mt10_pretrained/funcs.sh
prepare  # the data and the feature cache, resumed
STEPS=10000
reported() {  # name seed: the row is already in the committed 50-episode report (its run may be gone)
  python - "$1-ema" "$2" <<'PY'
import json, sys
from pathlib import Path
path = Path("benchmarks/results/metaworld_mt10_heads_ep50.json")
rows = json.loads(path.read_text())["results"] if path.is_file() else []
sys.exit(0 if any(r["name"].split(" (seed")[0] == sys.argv[1] and r["seed"] == int(sys.argv[2]) for r in rows) else 1)
PY
}
head_row() {  # name seed reducer tokens: 20 episodes per task (the 20-episode report's), then 30 more
  if [ ! -d $ROOT/$1-ema-s$2 ] && reported $1 $2; then echo "reported: $1-ema seed $2"; return; fi
  EP=20; row "$@"
  EP=50; evaluate $ROOT/$1-ema-s$2 none
}
for seed in 0 1 2; do
  for name in grids-heatmap-4 topk-4 random-4; do head_row $name $seed ${name%-*} ${name##*-}; done
done
for seed in 0 1 2; do
  for name in grids-1 grids-heatmap-1 topk-1 random-1; do head_row $name $seed ${name%-*} ${name##*-}; done
done
for seed in 0 1 2; do head_row grids-heatmap-16 $seed grids-heatmap 16; done
bash benchmarks/results/logs_mt10_pretrained/report_ema.sh
bash benchmarks/results/logs_mt10_pretrained/report_heads_ep50.sh
