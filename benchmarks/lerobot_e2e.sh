#!/usr/bin/env bash
# Issue 13 item 4: our MetaWorld demos end to end through LeRobot's own CLIs, offline, on a CPU.
#   export (grids data export --to-lerobot) -> lerobot-train act_grids -> lerobot-eval in our MetaWorld env
#   behind LeRobot's gym interface (--env.type=grids_metaworld, plugins/lerobot_policy_grids/.../env_metaworld.py);
#   then smolvla_grids for a few steps on a tiny random SmolVLM written locally (SmolVLA's real VLM is a Hub
#   download) and one lerobot-eval episode of it: the route runs, nothing more.
# Every stage whose output folder exists is skipped, so a rerun resumes. Seconds per stage: $OUT/seconds.json;
# success rates: $OUT/*/eval_info.json; both gathered into $OUT/summary.json at the end.
#   bash benchmarks/lerobot_e2e.sh        (VENV=.venv-lerobot DATA=data/mt10w OUT=runs/lerobot_e2e ...)
# What was measured on the 2-core CPU: benchmarks/results/lerobot_e2e.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-lerobot}
DATA=${DATA:-data/mt10w}
OUT=${OUT:-runs/lerobot_e2e}
TASKS=${TASKS:-reach-v3,drawer-close-v3,button-press-topdown-v3}
EPISODES_PER_TASK=${EPISODES_PER_TASK:-30}  # demos per task exported
ACT_STEPS=${ACT_STEPS:-100}  # what ~15 min of a niced, shared 2-core CPU allowed (see results)
ACT_BATCH=${ACT_BATCH:-8}
ACT_SAVE_FREQ=${ACT_SAVE_FREQ:-$ACT_STEPS}
K=${K:-8}  # GridS tokens per camera; ResNet-18 gives a 4 x 4 map at 128 px, so 16 -> 8
EVAL_EPISODES=${EVAL_EPISODES:-5}  # per task
EPISODE_LENGTH=${EPISODE_LENGTH:-100}  # steps; the scripted experts need a median 44-78 on these tasks
SMOLVLA_STEPS=${SMOLVLA_STEPS:-20}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 MUJOCO_GL=${MUJOCO_GL:-egl}
BIN="$VENV/bin"
mkdir -p "$OUT"
source "$(dirname "$0")/timed.sh"  # timed NAME COMMAND...

# 1. Export: the first EPISODES_PER_TASK demos of each task, as a LeRobotDataset (images as PNG: lossless).
DATASET="$OUT/dataset"
[ -d "$DATASET" ] || timed export "$BIN/grids" data export "$DATA" --to-lerobot "$DATASET" \
    --repo-id local/grids-metaworld --tasks "$TASKS" --episodes-per-task "$EPISODES_PER_TASK" --no-progress

# 2. ACT with GridS. Random ResNet-18 (its ImageNet weights are a download); LeRobot's ACT otherwise, but a
#    chunk of 20 (10 executed) for ~60-step episodes at 80 Hz and lr 1e-4 for a short run.
[ -d "$OUT/act_grids" ] || timed train_act "$BIN/lerobot-train" \
    --dataset.repo_id=local/grids-metaworld --dataset.root="$DATASET" \
    --policy.type=act_grids --policy.grids_reducer=grids --policy.grids_num_tokens="$K" \
    --policy.pretrained_backbone_weights=null \
    --policy.chunk_size=20 --policy.n_action_steps=10 \
    --policy.optimizer_lr=1e-4 --policy.optimizer_lr_backbone=1e-4 \
    --policy.device=cpu --policy.push_to_hub=false --wandb.enable=false \
    --steps="$ACT_STEPS" --batch_size="$ACT_BATCH" --num_workers=0 \
    --save_freq="$ACT_SAVE_FREQ" --log_freq=25 --seed=0 --output_dir="$OUT/act_grids"

# 3. Evaluate it: EVAL_EPISODES per task, seeds 1000.. (the demos' seeds are 32-bit hashes: not these).
[ -d "$OUT/eval_act" ] || timed eval_act "$BIN/lerobot-eval" \
    --policy.path="$OUT/act_grids/checkpoints/last/pretrained_model" --policy.device=cpu \
    --env.type=grids_metaworld --env.task="$TASKS" --env.episode_length="$EPISODE_LENGTH" \
    --eval.n_episodes="$EVAL_EPISODES" --eval.batch_size=1 --seed=1000 --output_dir="$OUT/eval_act"

# 3b. The same episodes (task, seed, step limit) with the action held at zero: what doing nothing scores.
[ -f "$OUT/baseline_zero.json" ] || timed baseline_zero "$BIN/python" - "$OUT" "$TASKS" "$EVAL_EPISODES" "$EPISODE_LENGTH" <<'PY'
import json, sys
from pathlib import Path
import numpy as np
from lerobot_policy_grids.env_metaworld import GridsMetaWorldGymEnv
out, tasks, episodes, length = Path(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
result = {}
for task in tasks:
    env, steps = GridsMetaWorldGymEnv(task, max_steps=length), []
    for seed in range(1000, 1000 + episodes):  # lerobot-eval's seeds at --seed=1000 --eval.batch_size=1
        env.reset(seed=seed)
        for step in range(1, length + 1):
            _, _, terminated, truncated, _ = env.step(np.zeros(4, np.float32))
            if terminated or truncated:
                break
        steps.append(step if terminated else None)
    env.close()
    result[task] = {"pc_success": 100 * sum(s is not None for s in steps) / episodes, "success_step": steps}
(out / "baseline_zero.json").write_text(json.dumps(result, indent=1) + "\n")
print(result)
PY

# 4. smolvla_grids, a few steps, on a tiny random SmolVLM (the tests' writer: 64 px, 16 tokens per camera).
VLM="$OUT/tiny_smolvlm"
[ -d "$VLM" ] || "$BIN/python" - "$VLM" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("plugin_conftest", "plugins/lerobot_policy_grids/tests/conftest.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.write_tiny_smolvlm(sys.argv[1])
PY
[ -d "$OUT/smolvla_grids" ] || timed train_smolvla "$BIN/lerobot-train" \
    --dataset.repo_id=local/grids-metaworld --dataset.root="$DATASET" \
    --policy.type=smolvla_grids --policy.grids_reducer=grids --policy.grids_num_tokens=4 \
    --policy.vlm_model_name="$VLM" --policy.load_vlm_weights=false \
    --policy.resize_imgs_with_padding=[64,64] --policy.num_vlm_layers=2 --policy.expert_width_multiplier=0.5 \
    --policy.chunk_size=10 --policy.n_action_steps=10 --policy.num_steps=2 \
    --policy.device=cpu --policy.push_to_hub=false --wandb.enable=false \
    --steps="$SMOLVLA_STEPS" --batch_size=4 --num_workers=0 \
    --save_freq="$SMOLVLA_STEPS" --log_freq=5 --seed=0 --output_dir="$OUT/smolvla_grids"
[ -d "$OUT/eval_smolvla" ] || timed eval_smolvla "$BIN/lerobot-eval" \
    --policy.path="$OUT/smolvla_grids/checkpoints/last/pretrained_model" --policy.device=cpu \
    --env.type=grids_metaworld --env.task=reach-v3 --env.episode_length="$EPISODE_LENGTH" \
    --eval.n_episodes=1 --eval.batch_size=1 --seed=1000 --output_dir="$OUT/eval_smolvla"

# 5. One summary: seconds per stage, success per task, steps trained per policy.
"$BIN/python" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {"seconds": json.loads((out / "seconds.json").read_text())}
for run in ("eval_act", "eval_smolvla"):
    info = json.loads((out / run / "eval_info.json").read_text())
    summary[run] = {
        "overall": {k: info["overall"][k] for k in ("pc_success", "n_episodes", "avg_sum_reward", "eval_s")},
        "per_task": {task: {k: v[k] for k in ("pc_success", "n_episodes")} for task, v in info["per_group"].items()},
    }
for run in ("act_grids", "smolvla_grids"):
    state = out / run / "checkpoints" / "last" / "training_state" / "training_step.json"
    summary[run] = {"steps": json.loads(state.read_text())["step"]} if state.exists() else None
summary["baseline_zero"] = json.loads((out / "baseline_zero.json").read_text())
(out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
print(json.dumps(summary, indent=1))
PY
