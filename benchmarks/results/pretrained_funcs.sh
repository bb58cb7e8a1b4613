# The stage functions of every grid on the pretrained protocol (MT10, LIBERO, ALOHA): sourced by each grid's
# funcs.sh after it sets DATA, ROOT, TASKS (and MAX where the suite's own step limit is not used). Every run,
# dense included, is a head on the same cached frozen ImageNet MobileNetV2 features; each step resumes.
STEPS=${STEPS:-5000}; BATCH=${BATCH:-32}; SHIFT=${SHIFT:-0.5}; THREADS=${THREADS:-2}; MAX=${MAX:-}
trained() {  # name [seed]: the run has its final checkpoint
  [ -f $ROOT/$1-s${2:-0}/checkpoints/step_$(printf %07d $STEPS)/model.safetensors ]
}
cache() {  # resumable
  echo "== $(date +%T) cache $ROOT/features"
  grids bench cache-features --encoder mobilenetv2 --data $DATA --out $ROOT/features 2>&1 | tr '\r' '\n' | tail -1
}
train() {  # name seed reducer tokens [extra flags]; resumes from the run's last checkpoint
  local name=$1 seed=$2 reducer=$3 tokens=$4; shift 4
  echo "== $(date +%T) train $ROOT/$name-s$seed"
  grids bench train --data $DATA --out $ROOT/$name-s$seed --reducer $reducer --tokens $tokens "$@" \
    --encoder mobilenetv2 --features $ROOT/features --feature-shift $SHIFT --preset tiny --steps $STEPS \
    --batch-size $BATCH --lr 1e-3 --seed $seed --save-every 500 --threads $THREADS 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2
}
evaluate() {  # run_dir perturbation [gif]: a killed evaluation resumes from its journal, and one over more
  # episodes reuses the run's evaluations over fewer (LIBERO: episode i starts from official init state i, or
  # with STARTS=fresh from a fresh placement like the demonstrations': files *_<perturbation>_fresh.json)
  local tag=$2${STARTS:+_$STARTS}${MAX:+_$MAX}
  local out=$1/eval_step${STEPS}_${EP}ep_$tag.json
  [ -f $out ] && return
  local earlier=$(ls $1/eval_step${STEPS}_*ep_$tag.json 2>/dev/null | paste -sd,)
  echo "== $(date +%T) eval $1 $2${STARTS:+ ($STARTS starts)}${earlier:+ (reusing $earlier)}"
  grids bench eval --run $1 --tasks $TASKS --episodes $EP --perturbations $2 --workers 2 ${MAX:+--max-steps $MAX} \
    ${STARTS:+--starts $STARTS} ${earlier:+--reuse $earlier} --out $out.tmp ${3:+--gif $3} 2>&1 | tr '\r' '\n' \
    | grep -v "it/s\|s/it" | tail -2 && mv $out.tmp $out
}
