# MT10 grid, frozen-encoder protocol, in priority order (a session cut short keeps the main rows).
cd /work/main && source .venv/bin/activate && export MUJOCO_GL=egl
while pgrep -f stage1.sh > /dev/null; do sleep 10; done
source "$(dirname "$0")/mt10_funcs.sh"  # STEPS/EP/MAX, train(), evaluate(): inlined here in the copy that ran
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
