import contextlib
import json

import pytest
import torch

from grids.efficiency import latency
from grids.efficiency.flops import build_shaped_policy, count_stages
from grids.efficiency.latency import (
    STAGES,
    CudaEvents,
    Variant,
    WallClock,
    make_inputs,
    make_timer,
    measure_run,
    prepare,
    ratios,
    resolve_device,
    step_flops,
    step_memory,
    time_alternating,
    timed_call,
    training_step,
)
from grids.efficiency.shapes import SHAPES

VARIANTS = [Variant.parse(s) for s in ("dense", "grids-4", "grids-4@0", "grids-2@1")]


def _no_stage(name):
    return contextlib.nullcontext()


@pytest.fixture
def tiny_base(tiny_pi0):
    torch.manual_seed(0)
    return build_shaped_policy(tiny_pi0, device="cpu", num_views=2, attn="sdpa")


def test_variant_specs_parse():
    assert Variant.parse("dense") == Variant("dense")
    assert Variant.parse("grids-16").options() == dict(reducer="grids", num_tokens=16, resample_at_layer=None)
    assert Variant.parse("grids-heatmap-4@9").options() == dict(
        reducer="grids-heatmap", num_tokens=4, resample_at_layer=9
    )
    for bad, match in (
        ("grids", "expected"),
        ("grids-x", "expected"),
        ("nope-4", "unknown reducer"),
        ("grids-4@", "expected"),
        ("grids-0", "K must be"),
    ):
        with pytest.raises(ValueError, match=match):
            Variant.parse(bad)


def test_variants_share_the_backbone_and_leave_the_base_untouched(tiny_base):
    copies = latency.build_variants(tiny_base, VARIANTS)
    base_params = {id(p) for p in tiny_base.parameters()}
    for label, policy in copies.items():
        own = [n for n, p in policy.named_parameters() if id(p) not in base_params]
        assert all(n.startswith("reducer.") for n in own), (label, own)
        assert (policy.hook is not None) == ("@" in label)
    assert tiny_base.hook is None
    assert all(not block._forward_pre_hooks for block in tiny_base.blocks())
    inputs = make_inputs(tiny_base, "inference", 2)
    with torch.no_grad():  # the dense copy is the same function as the base
        assert torch.equal(copies["dense"](*inputs), tiny_base(*inputs))


@pytest.mark.parametrize("mode", ["inference", "training"])
def test_every_variant_runs_and_reports_every_stage(tiny_base, mode):
    run = measure_run(tiny_base, VARIANTS, mode=mode, batch=2, warmup=1, repeats=3)
    assert list(run["variants"]) == [v.label for v in VARIANTS]
    for label, row in run["variants"].items():
        assert set(row["stages"]) == {*STAGES[mode], "total"}
        assert all(s["median_ms"] > 0 and s["repeats"] == 3 for s in row["stages"].values()), label
        assert set(row["flops"]) == {*STAGES[mode], "total"}
    assert run["ratios"]["dense"]["latency_ratio"] == 1.0 and run["ratios"]["dense"]["flop_ratio"] == 1.0
    assert run["ratios"]["grids-4@0"]["flop_ratio"] > run["ratios"]["grids-4"]["flop_ratio"] > 1
    if mode == "training":
        assert all(p.grad is None for p in tiny_base.parameters())  # freed after the run


@pytest.mark.parametrize("mode", ["inference", "training"])
def test_stage_times_sum_to_about_the_total(tiny_base, mode):
    policies = latency.build_variants(tiny_base, VARIANTS[:3])
    for policy in policies.values():
        prepare(policy, mode)
    inputs, timer = make_inputs(tiny_base, mode, 2), WallClock()
    fns = {label: (lambda p=p: timed_call(p, mode, inputs, timer)) for label, p in policies.items()}
    samples = time_alternating(fns, warmup=1, repeats=5)
    for label, calls in samples.items():
        fractions = [sum(call[s] for s in STAGES[mode]) / call["total"] for call in calls]
        assert all(f <= 1.0 for f in fractions), (label, fractions)  # stages lie inside the call
        assert sorted(fractions)[len(fractions) // 2] > 0.9, (label, fractions)  # and cover nearly all of it


def test_ratios_from_given_timings():
    times = {
        "dense": {"vision": 2.0, "prefix": 6.0, "expert": 2.0, "total": 10.0},
        "fast": {"vision": 2.0, "prefix": 1.0, "expert": 1.0, "total": 4.0},
        "slow": {"vision": 2.0, "prefix": 3.0, "expert": 2.0, "total": 8.0},
    }
    flops = {
        "dense": {"vision": 4.0, "prefix": 12.0, "expert": 4.0, "total": 20.0},
        "fast": {"vision": 4.0, "prefix": 2.0, "expert": 2.0, "total": 8.0},
        "slow": {"vision": 4.0, "prefix": 2.0, "expert": 4.0, "total": 10.0},
    }
    out = ratios(times, flops, base="dense", target=0.8)
    assert out["dense"]["latency_ratio"] == 1.0 and out["dense"]["meets_target"]
    assert out["fast"]["latency_ratio"] == 2.5 and out["fast"]["flop_ratio"] == 2.5
    assert out["fast"]["efficiency"] == 1.0 and out["fast"]["meets_target"]
    assert out["slow"]["latency_ratio"] == 1.25 and out["slow"]["flop_ratio"] == 2.0
    assert out["slow"]["efficiency"] == 0.625 and not out["slow"]["meets_target"]  # 1.25 < 0.8 * 2
    assert out["slow"]["stages"]["prefix"] == {"latency_ratio": 2.0, "flop_ratio": 6.0}
    assert out["fast"]["stages"]["vision"] == {"latency_ratio": 1.0, "flop_ratio": 1.0}
    with pytest.raises(ValueError, match="base variant 'missing'"):
        ratios(times, flops, base="missing")


def test_inference_step_flops_equal_the_stage_counter(tiny_pi0):
    for variant in VARIANTS:
        step = step_flops(tiny_pi0, variant, batch=2)
        policy = build_shaped_policy(tiny_pi0, device="meta", **variant.options())
        counted = count_stages(policy, batch=2)
        assert step["vision"] == counted.vision + counted.projector + counted.reducer
        assert (step["prefix"], step["expert"], step["total"]) == (
            counted.llm_prefix,
            counted.action_expert,
            counted.total,
        )


def test_training_flops_count_backward_and_recomputation(tiny_pi0):
    plain = step_flops(tiny_pi0, Variant("dense"), mode="training", batch=2)
    recomputed = step_flops(tiny_pi0, Variant("dense"), mode="training", batch=2, checkpointing=True)
    forward = plain["vision"] + plain["prefix"] + plain["expert"]
    # each matrix product costs at most two in backward (input and weight gradients); the images need
    # none and the LLM's last MLP feeds no loss, so a little under 2x
    assert forward < plain["backward"] <= 2 * forward
    assert recomputed["backward"] > plain["backward"]  # the vision and LLM forward run again
    assert recomputed["vision"] == plain["vision"]


def test_memory_trace(tiny_pi0):
    policy = build_shaped_policy(tiny_pi0, num_views=2)
    params = sum(p.numel() * p.element_size() for p in policy.parameters())
    buffers = sum(b.numel() * b.element_size() for b in policy.buffers())
    infer = step_memory(tiny_pi0, Variant("dense"), batch=2)
    train = step_memory(tiny_pi0, Variant("dense"), mode="training", batch=2)
    half = step_memory(tiny_pi0, Variant("dense"), mode="training", batch=2, dtype=torch.bfloat16)
    assert infer["weights"] == params + buffers
    assert train["peak_tensors"] > infer["peak_tensors"] > 0
    assert params / 2 < half["weights"] < params / 2 + buffers  # bf16 parameters; some buffers stay fp32


def test_gradient_checkpointing_keeps_the_gradients(tiny_pi0):
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        policy = build_shaped_policy(tiny_pi0, device="cpu", num_views=2, attn="sdpa").with_reducer(
            "grids", num_tokens=4, resample_at_layer=1
        )
        prepare(policy, "training", checkpointing=checkpointing)
        torch.manual_seed(1)
        training_step(policy, make_inputs(policy, "training", 2), _no_stage)
        grads.append({n: p.grad for n, p in policy.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        assert (grad is None) == (grads[1][name] is None), name
        if grad is not None:
            torch.testing.assert_close(grads[1][name], grad, msg=name)
    llm_k = [g for n, g in grads[1].items() if n.startswith("llm.") and "k_proj" in n]
    assert llm_k and all(g is not None and g.abs().sum() > 0 for g in llm_k)  # K/V reached the expert


def test_timer_selection_follows_the_device():
    assert isinstance(make_timer(torch.device("cpu")), WallClock)
    assert isinstance(make_timer(torch.device("cuda", 0)), CudaEvents)


def test_cuda_events_timer_reads_events_after_one_synchronize(monkeypatch):
    clock, synced = iter(range(100)), []

    class FakeEvent:
        def __init__(self, enable_timing):
            assert enable_timing

        def record(self):
            self.at = 10.0 * next(clock)  # ms

        def elapsed_time(self, other):
            assert synced, "read before synchronize"
            return other.at - self.at

    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(device))
    timer = CudaEvents(torch.device("cuda", 0))
    timer.begin()  # event 0
    with timer.stage("vision"):  # events 1, 2
        pass
    with timer.stage("prefix"):  # events 3, 4
        pass
    times = timer.end()  # event 5
    assert times == pytest.approx({"vision": 0.01, "prefix": 0.01, "total": 0.05})
    assert synced == [torch.device("cuda", 0)]


def test_device_resolution(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("meta")


def test_plan_resumes_and_refuses_other_settings(tiny_pi0, tmp_path, monkeypatch):
    from grids.efficiency import report

    monkeypatch.setitem(SHAPES, "tiny", tiny_pi0)
    settings = report.Settings(models=("tiny",), variants=("dense", "grids-4@0"), repeats=2, warmup=0)
    first = report.plan_runs(settings, batches=(1,))
    results = report.run_plan(settings, first, out=tmp_path, log=lambda *_: None)
    assert [r["key"] for r in results["runs"]] == ["tiny/inference/batch1/eager"]
    run = results["runs"][0]
    assert len(run["load_before"]) == 3 and run["load_max_1min"] >= 0 and run["peak_memory_gib"] > 0
    both = report.plan_runs(settings, modes=("inference", "training"), batches=(1,), train_batches=(2,))
    logged = []
    results = report.run_plan(settings, both, out=tmp_path, log=logged.append)
    assert [r["key"] for r in results["runs"]] == [
        "tiny/inference/batch1/eager",
        "tiny/training/batch2/eager",
    ]
    assert results["runs"][0] == run  # the finished run was kept, not timed again
    assert run["environment"]["torch"] == torch.__version__
    earlier = json.loads((tmp_path / "latency.json").read_text())  # a file written before runs named their versions
    del earlier["runs"][0]["environment"], earlier["runs"][1]["environment"]
    earlier["environment"]["transformers"] = "0.0-earlier"
    (tmp_path / "latency.json").write_text(json.dumps(earlier))
    kept = report.run_plan(settings, both, out=tmp_path, log=lambda *_: None)["runs"][0]
    assert kept["environment"]["transformers"] == "0.0-earlier"  # the version its file was saved with
    assert "(torch" in (tmp_path / "latency.md").read_text() and "transformers 0.0-earlier)" in (tmp_path / "latency.md").read_text()
    assert any("1 run(s) already done" in line for line in logged)
    saved = json.loads((tmp_path / "latency.json").read_text())
    assert saved["runs"][1]["ratios"]["grids-4@0"]["flop_ratio"] > 1
    markdown = (tmp_path / "latency.md").read_text()
    assert "## tiny inference, batch 1, eager" in markdown and "## tiny training, batch 2, eager" in markdown
    other = report.Settings(models=("tiny",), variants=("dense", "grids-4@0"), repeats=3, warmup=0)
    with pytest.raises(ValueError, match="other settings"):
        report.run_plan(other, first, out=tmp_path, log=lambda *_: None)


def test_plan_refuses_a_model_that_does_not_fit(tiny_pi0, tmp_path, monkeypatch):
    from grids.efficiency import report

    monkeypatch.setitem(SHAPES, "tiny", tiny_pi0)
    monkeypatch.setattr(report, "available_memory_gib", lambda device: 0.5)  # the estimate adds 1 GiB
    settings = report.Settings(models=("tiny",), variants=("dense",), repeats=1, warmup=0)
    with pytest.raises(ValueError, match="--dtype bf16 and/or --checkpointing"):
        report.run_plan(settings, report.plan_runs(settings, batches=(1,)), out=tmp_path, log=lambda *_: None)


def test_training_batches_default_by_device(monkeypatch):
    from grids.efficiency import report

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu = report.plan_runs(report.Settings(device="cuda"), modes=("training",))
    assert [r.batch for r in gpu] == [32, 128]
    cpu = report.plan_runs(report.Settings(device="cpu"), modes=("training",))
    assert [r.batch for r in cpu] == [8]


def test_render_flags_the_target_at_batch_one_only():
    from grids.efficiency import report

    def run(batch, efficiency):
        stage = {"median_ms": 10.0, "iqr_ms": 1.0, "min_ms": 9.0, "max_ms": 11.0}
        stages = {s: stage for s in (*STAGES["inference"], "total")}
        row = {"stages": stages, "flops": {"total": 1e12}}
        ratio = {
            "latency_ratio": 2.0 * efficiency,
            "flop_ratio": 2.0,
            "efficiency": efficiency,
            "meets_target": efficiency >= 0.8,
            "stages": {s: {"latency_ratio": 1.0, "flop_ratio": 1.0} for s in STAGES["inference"]},
        }
        return {
            "model": "pi0",
            "mode": "inference",
            "batch": batch,
            "compiled": False,
            "shape": "pi0",
            "load_before": [1.0, 1.0, 1.0],
            "load_after": [1.0, 1.0, 1.0],
            "load_max_1min": 1.0,
            "peak_memory_gib": 1.0,
            "warmup_seconds": 1.0,
            "seconds": 1.0,
            "finished": "now",
            "variants": {"dense": row, "grids-16": row},
            "ratios": {"dense": {**ratio, "efficiency": 1.0}, "grids-16": ratio},
        }

    settings = report.Settings().comparable()
    low = report.render({"settings": settings, "runs": [run(1, 0.5)]})
    assert "| **no** |" in low and "≥ 0.8?" in low
    assert "| yes |" in report.render({"settings": settings, "runs": [run(1, 0.9)]})
    batch8 = report.render({"settings": settings, "runs": [run(8, 0.5)]})
    assert "≥ 0.8?" not in batch8 and "**no**" not in batch8
    assert "full depth" in low
    reduced = report.render({"settings": {**settings, "depth": [2, 1, 1]}, "runs": []})
    assert "REDUCED depth" in reduced


def test_compile_leaves_room_for_a_graph_per_decoder_layer():
    """HF decoder layers carry their index (K/V cache), on which dynamo specialises, and the LLM's and the expert's
    layers share one code object: full-depth π0 timed at two batch sizes needs one graph per layer (18 + 18), prefix
    length (dense, K = 16, K = 4) and batch. The limit of 64 set before failed on the full model after 64."""
    import torch._dynamo.config as dynamo

    policy = build_shaped_policy(SHAPES["pi0"], device="meta", num_views=2, attn="sdpa")
    decoder_layers = len(policy.llm.layers) + len(policy.expert.layers)
    assert decoder_layers == 36
    # dynamo's defaults inside, restored on exit
    with dynamo.patch(recompile_limit=8, accumulated_recompile_limit=256, fail_on_recompile_limit_hit=False):
        latency.compile_blocks(policy)  # lazy: nothing is compiled before a call
        assert dynamo.recompile_limit >= decoder_layers * 3 * 2
        assert dynamo.accumulated_recompile_limit >= dynamo.recompile_limit
        assert dynamo.fail_on_recompile_limit_hit


@pytest.mark.slow
def test_compiled_variants_match_eager(tiny_base):
    eager = latency.build_variants(tiny_base, VARIANTS[:3])
    compiled = latency.build_variants(tiny_base, VARIANTS[:3], compiled=True)
    inputs = make_inputs(tiny_base, "inference", 2)
    with torch.no_grad():
        for label in eager:
            torch.testing.assert_close(compiled[label].eval()(*inputs), eager[label].eval()(*inputs))
    run = measure_run(tiny_base, VARIANTS[:3], batch=2, compiled=True, warmup=1, repeats=2)
    assert all(row["stages"]["total"]["median_ms"] > 0 for row in run["variants"].values())


def test_bf16_training_with_checkpointing_runs_every_variant(tiny_pi0):
    from grids.efficiency.latency import default_dtype

    torch.manual_seed(0)
    with default_dtype(torch.bfloat16):
        base = build_shaped_policy(tiny_pi0, device="cpu", num_views=2, attn="sdpa")
    run = measure_run(base, VARIANTS, mode="training", batch=2, checkpointing=True, warmup=0, repeats=1)
    assert all(row["stages"]["backward"]["median_ms"] > 0 for row in run["variants"].values())
    assert {p.dtype for p in base.parameters()} == {torch.bfloat16}
