# Stage 3: ALOHA with action chunks of 50 (1 s at 50 Hz, pi0's chunk length; 25 executed per call) instead of the
# MT10 protocol's 8 (4 executed). Stage 2's dense reached 2 % (transfer-cube 4 %, insertion 0 %, mean max reward
# 1.10): it touches the cube and stops there, the compounding-error failure that ACT's action chunking cures
# (ACT's ablation: transfer-cube success rises steeply with the chunk length). Same cache (its action chunks are
# rebuilt from the dataset at the new length), same everything else; dense and grids-16 trained side by side
# (one thread each), then evaluated, 50 episodes per task. Runs in runs/aloha_chunk50; report
# benchmarks/results/aloha.{json,md,png} (stage 4 adds its rows).
set -u; cd "$(dirname "$0")/../../.."; export PATH=$PWD/.venv/bin:$PATH
. benchmarks/results/logs_aloha/funcs.sh
FEATURES=$ROOT/features; ROOT=${ROOT}_chunk50
mkdir -p $ROOT && ln -sfn $(realpath $FEATURES) $ROOT/features
{ trained grids-16 || THREADS=1 train grids-16 0 grids 16 --chunk-size 50; } > $ROOT/grids-16.log 2>&1 &
# dense takes both threads once grids-16 is done (a rerun after grids-16 resumes dense from its last checkpoint)
trained dense || THREADS=$(trained grids-16 && echo 2 || echo 1) train dense 0 dense 256 --chunk-size 50
wait; cat $ROOT/grids-16.log
evaluate $ROOT/dense-s0 none
evaluate $ROOT/grids-16-s0 none ${REPORT}_grids-16.gif
report "$CHUNK50"
