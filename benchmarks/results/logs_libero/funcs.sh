# LIBERO-Object on the pretrained protocol (issue 11): sourced by the stage scripts beside it.
# Same protocol as MetaWorld MT10 (../logs_mt10_pretrained/funcs.sh): every run, dense included, is a head on
# the same cached frozen ImageNet MobileNetV2 features; evaluation on LIBERO's 50 official init states per task.
STEPS=${STEPS:-5000}; BATCH=${BATCH:-32}; EP=${EP:-50}; SHIFT=${SHIFT:-0.5}; THREADS=${THREADS:-2}
SUITE=${SUITE:-libero_object}; DATA=${DATA:-data/$SUITE}; ROOT=${ROOT:-runs/$SUITE}
generate() {  # resumable: rerun to continue
  echo "== $(date +%T) generate $DATA"
  grids data generate --tasks $SUITE --episodes-per-task 50 --out $DATA --workers ${WORKERS:-2} 2>&1 | tr '\r' '\n' | grep -v "ep/s\|s/ep" | tail -2
}
cache() {
  echo "== $(date +%T) cache $ROOT/features"
  grids bench cache-features --encoder mobilenetv2 --data $DATA --out $ROOT/features 2>&1 | tr '\r' '\n' | tail -1
}
train() {  # name seed reducer tokens [extra flags]
  local name=$1 seed=$2 reducer=$3 tokens=$4; shift 4
  echo "== $(date +%T) train $ROOT/$name-s$seed"
  grids bench train --data $DATA --out $ROOT/$name-s$seed --reducer $reducer --tokens $tokens "$@" \
    --encoder mobilenetv2 --features $ROOT/features --feature-shift $SHIFT --preset tiny --steps $STEPS \
    --batch-size $BATCH --lr 1e-3 --seed $seed --save-every 500 --threads $THREADS 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2
}
evaluate() {  # run_dir perturbation: episode i starts from LIBERO's official init state i
  local out=$1/eval_step${STEPS}_${EP}ep_$2.json
  [ -f $out ] && return
  local earlier=$(ls $1/eval_step${STEPS}_*ep_$2.json 2>/dev/null | paste -sd,)  # fewer init states: reused
  echo "== $(date +%T) eval $1 $2${earlier:+ (reusing $earlier)}"
  grids bench eval --run $1 --tasks $SUITE --episodes $EP --perturbations $2 --workers 2 \
    ${earlier:+--reuse $earlier} --out $out.tmp 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2 && mv $out.tmp $out
}
