# Issue 10, item 5: the README's main job timed from a fresh install on the quiet 2 cores (nothing else running):
# a clean clone of HEAD, `bash scripts/setup.sh` (a new .venv; pip's cache and the apt libraries stay, as on a
# machine that set up once before), then `grids bench quick`, each under /usr/bin/time. Its report is copied
# to benchmarks/results/bench_quick_pretrained*.{md,json,png,gif} (the job itself writes only under runs/bench-quick).
set -eu; cd "$(dirname "$0")/../../.."; REPO=$PWD; FRESH=${FRESH:-/tmp/grids-fresh}
rm -rf "$FRESH"; git clone -q "$REPO" "$FRESH"; cd "$FRESH"
echo "== $(date +%T) setup (HEAD $(git rev-parse --short HEAD)), load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "setup: %e s wall, %U s user, %S s system" bash scripts/setup.sh > setup.log 2>&1 || { tail setup.log; exit 1; }
tail -1 setup.log
echo "== $(date +%T) grids bench quick, load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "bench quick: %e s wall, %U s user, %S s system, %P CPU" .venv/bin/grids bench quick 2>&1 \
  | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -25
echo "== $(date +%T) done, load $(cut -d' ' -f1-3 /proc/loadavg)"
for f in runs/bench-quick/bench_quick*.*; do name=${f##*/}; cp "$f" "$REPO/benchmarks/results/${name/bench_quick/bench_quick_pretrained}"; done
