# LIBERO-Object on the pretrained protocol (issue 11): sourced by the stage scripts beside it; the stage
# functions are ../pretrained_funcs.sh. Evaluation on LIBERO's official init states (episode i → state i, <= 50)
# with the suite's own step limits.
EP=${EP:-50}; SUITE=${SUITE:-libero_object}; TASKS=$SUITE; DATA=${DATA:-data/$SUITE}; ROOT=${ROOT:-runs/$SUITE}
. benchmarks/results/pretrained_funcs.sh
generate() {  # resumable: rerun to continue
  echo "== $(date +%T) generate $DATA"
  grids data generate --tasks $SUITE --episodes-per-task 50 --out $DATA --workers ${WORKERS:-2} 2>&1 | tr '\r' '\n' | grep -v "ep/s\|s/ep" | tail -2
}
# Stages 4 and 6: stage 3's protocol (10,000 steps, EMA 0.999, chunks of 50) on stage 5's data.
row() {  # name seed reducer tokens [flags]: trained, then evaluated in distribution before the next row starts,
  # so a session cut short leaves whole rows
  local name=$1-ema-c50 seed=$2
  trained $name $seed || train $name $seed $3 $4 "${@:5}" --chunk-size 50 --ema 0.999
  evaluate $ROOT/$name-s$seed none
}
after_stage5() {  # stages 4, 6-8: stage 5's data and cache (made where this checkout lacks them), its 10,000 steps,
  # and its dense and GridS-16 (seed 0)
  generate && cache
  STEPS=10000
  trained dense-ema-c50 && trained grids-16-ema-c50 || { echo 'run stage5.sh first (dense and GridS-16)'; exit 1; }
}
points() {  # run: closed-loop pictures at t = 0, 60, 120 per task, point statistics and the retention map (~4 min)
  local out=benchmarks/results/${SUITE}_points_$1.png
  [ -f $out ] && return
  echo "== $(date +%T) points $1"
  OMP_NUM_THREADS=1 grids bench points --run $ROOT/$1-ema-c50-s0 --tasks $TASKS --at-steps 0,60,120 --data $DATA \
    --out $out 2>&1 | grep -v "it/s\|s/it" | grep "retention\|wrote\|correlation"
}
