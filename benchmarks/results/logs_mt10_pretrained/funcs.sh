# The MT10 grid on the pretrained protocol (issue 10): sourced by the stage scripts beside it.
# Data: grids data generate --tasks mt10 --episodes-per-task 50 --out data/mt10w   (workspace camera)
# Cache: grids bench cache-features --encoder mobilenetv2 --data data/mt10w --out runs/mt10w/features
# Every run, dense included, is a head on the same cached frozen ImageNet MobileNetV2 features.
STEPS=${STEPS:-5000}; BATCH=${BATCH:-32}; EP=${EP:-20}; MAX=${MAX:-150}; SHIFT=${SHIFT:-0.5}
ROOT=${ROOT:-runs/mt10w}
train() {  # name seed reducer tokens [extra flags]
  local name=$1 seed=$2 reducer=$3 tokens=$4; shift 4
  echo "== $(date +%T) train $ROOT/$name-s$seed"
  grids bench train --data data/mt10w --out $ROOT/$name-s$seed --reducer $reducer --tokens $tokens "$@" \
    --encoder mobilenetv2 --features $ROOT/features --feature-shift $SHIFT --preset tiny --steps $STEPS \
    --batch-size $BATCH --lr 1e-3 --seed $seed --save-every 500 --threads ${THREADS:-2} 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2
}
evaluate() {  # run_dir perturbation [gif]
  local out=$1/eval_step${STEPS}_${EP}ep_$2_${MAX}.json
  [ -f $out ] && return
  echo "== $(date +%T) eval $1 $2"
  grids bench eval --run $1 --tasks mt10 --episodes $EP --perturbations $2 --workers 2 --max-steps $MAX \
    --out $out.tmp ${3:+--gif $3} 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2 && mv $out.tmp $out
}
