STEPS=2000; EP=20; MAX=150
train() {  # root name seed reducer tokens [extra flags]
  local root=$1 name=$2 seed=$3 reducer=$4 tokens=$5; shift 5
  echo "== $(date +%T) train $root/$name"
  grids bench train --data data/mt10x50 --out $root/$name --reducer $reducer --tokens $tokens "$@" \
    --frozen-encoder runs/mt10/dense --preset tiny --steps $STEPS --batch-size 16 --lr 1e-3 --seed $seed \
    --save-every 500 --threads 2 2>&1 | tr '\r' '\n' | grep -v "it/s" | tail -2
}
evaluate() {  # run_dir perturbation [gif]
  local out=$1/eval_step${STEPS}_${EP}ep_$2_${MAX}.json
  [ -f $out ] && return
  echo "== $(date +%T) eval $1 $2"
  grids bench eval --run $1 --tasks mt10 --episodes $EP --perturbations $2 --workers 2 --max-steps $MAX \
    --out $out.tmp ${3:+--gif $3} 2>&1 | tr '\r' '\n' | grep -v "it/s\|s/it" | tail -2 && mv $out.tmp $out
}
