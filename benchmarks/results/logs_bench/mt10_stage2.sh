# MT10 grid, frozen-encoder protocol, in priority order (a session cut short keeps the main rows).
cd /work/main && source .venv/bin/activate && export MUJOCO_GL=egl
while pgrep -f stage1.sh > /dev/null; do sleep 10; done
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
mkdir -p runs/mt10-s1 && ln -sfn ../mt10/dense runs/mt10-s1/dense
train runs/mt10 dense-frozen 0 dense 256
train runs/mt10 grids-16 0 grids 16
evaluate runs/mt10/dense-frozen none
evaluate runs/mt10/grids-16 none benchmarks/results/bench_mt10_grids-16.gif
train runs/mt10 random-16 0 random 16
train runs/mt10 topk-16 0 topk 16
evaluate runs/mt10/random-16 none
evaluate runs/mt10/topk-16 none
evaluate runs/mt10/grids-16 camera-small
evaluate runs/mt10/dense-frozen camera-small
evaluate runs/mt10/grids-16 light
evaluate runs/mt10/dense-frozen light
train runs/mt10-s1 dense-frozen 1 dense 256
train runs/mt10-s1 grids-16 1 grids 16
evaluate runs/mt10-s1/dense-frozen none
evaluate runs/mt10-s1/grids-16 none
train runs/mt10 pool-16 0 pool 16
train runs/mt10 grids-4 0 grids 4
evaluate runs/mt10/pool-16 none
evaluate runs/mt10/grids-4 none
train runs/mt10 grids-task-16 0 grids 16 --task-aware
evaluate runs/mt10/grids-task-16 none
train runs/mt10 grids-1 0 grids 1
evaluate runs/mt10/grids-1 none
evaluate runs/mt10/dense none
echo "== $(date +%T) done"
