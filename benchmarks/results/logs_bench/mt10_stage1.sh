set -e
cd /work/main && source .venv/bin/activate && export MUJOCO_GL=egl
date
grids bench train --data data/mt10x50 --out runs/mt10/dense --reducer dense --preset tiny --steps 2000 --batch-size 16 --lr 1e-3 --seed 0 --save-every 500 --threads 2
date
grids bench cache-features --run runs/mt10/dense --data data/mt10x50
date
