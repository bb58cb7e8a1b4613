"""What a trainable encoder top costs per training step on this CPU (issue 42, question 2).

One step (forward, backward, AdamW) of the benchmark policy at batch 32 on cached features, the tiny preset,
MT10's shapes (2 views, 16 x 16 maps, chunks of 8): a head on the frozen encoder's cache (``encoder_top=0``)
against GridS-16 and dense under MobileNetV2's blocks 11-13 trained (``encoder_top=3``, on the trunk's cache).
Median of timed steps after warm-up, 2 threads, in one process; the runner's dry-run rates come from here.

    python benchmarks/encoder_top_cost.py            # writes benchmarks/results/encoder_top_cost.{json,md}
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

from grids.bench.experiments import Run, policy_config
from grids.bench.runner import machine

RESULTS = Path(__file__).parent / "results"
SPEC = "benchmarks/specs/encoder_top_cost.toml"
ROWS = (("grids", 16, 0), ("grids", 16, 3), ("dense", 256, 3))  # reducer, tokens per view, encoder_top
BATCH, WARMUP, STEPS = 32, 3, 20


def step_seconds(reducer: str, tokens: int, top: int) -> list[float]:
    torch.manual_seed(0)
    cfg = policy_config(Run(reducer, reducer, tokens, reducer), encoder="mobilenetv2", encoder_top=top,
                        feature_shift=0.5, chunk_size=8, tasks=["task"])  # fmt: skip
    from grids.bench.policy import Policy

    policy = Policy(cfg).train()
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=1e-4)
    width = policy.encoder.trunk_dim
    batch = {"features": torch.randn(BATCH, cfg.num_views, 256, width), "state": torch.zeros(BATCH, 4),
             "task_index": torch.zeros(BATCH, dtype=torch.long), "actions": torch.zeros(BATCH, 8, 4),
             "action_is_pad": torch.zeros(BATCH, 8, dtype=torch.bool)}  # fmt: skip
    times = []
    for i in range(WARMUP + STEPS):
        start = time.perf_counter()
        loss = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    torch.set_num_threads(2)
    rows = []
    for reducer, tokens, top in ROWS:
        times = step_seconds(reducer, tokens, top)
        rows.append({"reducer": reducer, "tokens": tokens, "encoder_top": top,
                     "median_s": statistics.median(times), "steps": len(times)})  # fmt: skip
        print(f"{reducer}-{tokens} encoder_top={top}: {rows[-1]['median_s'] * 1000:.0f} ms / step", flush=True)
    head = rows[0]["median_s"]
    report = {"spec": SPEC, "command": "python benchmarks/encoder_top_cost.py", "machine": machine(),
              "batch_size": BATCH, "rows": rows}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encoder_top_cost.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# encoder_top_cost", "", f"Spec: `{SPEC}`; command: `{report['command']}`; "
             f"{report['machine']['cpu']} ({report['machine']['cores']} cores), torch {report['machine']['torch']}.", "",
             f"One training step at batch {BATCH} on cached features, median of {STEPS} after {WARMUP} warm-up steps.", "",
             "| reducer | tokens / view | encoder_top | ms / step | × the frozen head | 10,000 steps |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['reducer']} | {r['tokens']} | {r['encoder_top']} | {r['median_s'] * 1000:.0f} | "
                     f"{r['median_s'] / head:.1f} | {r['median_s'] * 10_000 / 3600:.1f} h |")  # fmt: skip
    (RESULTS / "encoder_top_cost.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
