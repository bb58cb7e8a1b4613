cd /work/main && source .venv/bin/activate && export MUJOCO_GL=egl
while pgrep -f stage2.sh > /dev/null; do sleep 10; done
source "$(dirname "$0")/mt10_funcs.sh"  # ran as /tmp/funcs.sh
train runs/mt10-s1 random-16 1 random 16
train runs/mt10-s1 topk-16 1 topk 16
evaluate runs/mt10-s1/random-16 none
evaluate runs/mt10-s1/topk-16 none
evaluate runs/mt10/grids-16 camera-large
evaluate runs/mt10/dense-frozen camera-large
train runs/mt10 grids-nearest-16 0 grids-nearest 16
train runs/mt10 grids-nocoord-16 0 grids 16 --no-coord-embedding
evaluate runs/mt10/grids-nearest-16 none
evaluate runs/mt10/grids-nocoord-16 none
evaluate runs/mt10/grids-16 noise
evaluate runs/mt10/dense-frozen noise
train runs/mt10 uniform-16 0 uniform 16
train runs/mt10 perceiver-16 0 perceiver 16
evaluate runs/mt10/uniform-16 none
evaluate runs/mt10/perceiver-16 none
echo "== $(date +%T) stage3 done"
