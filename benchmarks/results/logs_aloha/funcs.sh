# ALOHA (transfer-cube, insertion) on the pretrained protocol (issue 15 item 3): sourced by the stage scripts
# beside it. Same protocol as MetaWorld MT10 and LIBERO-Object (../logs_libero/funcs.sh): every run, dense
# included, is a head on the same cached frozen ImageNet MobileNetV2 features of both views (top, angle).
# ALOHA specifics, all automatic: 14-d joint-position state and actions (the head predicts the actions
# standardised with the dataset's per-joint mean and std, saved with the policy; they reach the env unclamped),
# gym-aloha's own 300-step limit (50 Hz, 6 s), and every evaluation episode records its maximum reward
# (contact stage 0-4): success = stage 4; the GridS authors' lenient success = max reward >= 0.5; "env reward" =
# the mean max reward. Evaluation seeds 100000 + i, the same for every run (paired comparisons).
STEPS=${STEPS:-5000}; BATCH=${BATCH:-32}; EP=${EP:-50}; SHIFT=${SHIFT:-0.5}; THREADS=${THREADS:-2}
DATA=${DATA:-data/aloha}; ROOT=${ROOT:-runs/aloha}; REPORT=${REPORT:-benchmarks/results/aloha}
MAX=${MAX:-}  # empty: gym-aloha's 300 steps; a dry run sets fewer (STEPS=20 EP=1 MAX=20 ROOT=... REPORT=...)
generate() {  # resumable: rerun to continue
  echo "== $(date +%T) generate $DATA"
  grids data generate --suite aloha --tasks all --episodes-per-task 50 --out $DATA --workers ${WORKERS:-2} 2>&1 \
    | tr '\r' '\n' | grep -v "ep/s\|s/ep" | tail -2
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
evaluate() {  # run_dir perturbation (ALOHA has none but "none"); a killed evaluation resumes from its journal
  local out=$1/eval_step${STEPS}_${EP}ep_$2${MAX:+_$MAX}.json
  [ -f $out ] && return
  echo "== $(date +%T) eval $1 $2"
  grids bench eval --run $1 --tasks aloha --episodes $EP --perturbations $2 --workers 2 ${MAX:+--max-steps $MAX} \
    --out $out.tmp 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2 && mv $out.tmp $out
}
