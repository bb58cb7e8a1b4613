import argparse
import json
import re

import pytest

from grids.cli import efficiency
from grids.efficiency.flops import STAGES, analytic_stages, llm_prefix_flops
from grids.efficiency.latency import Variant, measure_latency, summarize, time_alternating
from grids.efficiency.shapes import get_shape


def parse(argv):
    parser = argparse.ArgumentParser(prog="grids")
    efficiency.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_both_commands_are_registered():
    args = parse(["flops", "--model", "pi05", "--tokens", "4", "--resample-at-layer", "9"])
    assert args.func is efficiency.run_flops and args.resample_at_layer == 9 and args.tokens == 4
    args = parse(["latency", "--compile", "both", "--batch", "8", "--mode", "training"])
    assert args.func is efficiency.run_latency and args.compile == "both" and args.batch == "8"


def test_flops_prints_a_per_stage_table(capsys):
    args = parse(
        ["flops", "--model", "pi0", "--views", "2", "--reducer", "grids", "--tokens", "16", "--formula-only"]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    for stage in ("vision", "projector", "reducer", "llm_prefix", "action_expert", "total", "floor"):
        assert stage in out
    assert "reduction vs dense: 64.6%" in out


def flops_json(argv, capsys) -> dict:
    args = parse(["flops", *argv, "--json"])
    assert args.func(args) == 0
    return json.loads(capsys.readouterr().out)


def test_flops_json(capsys):
    """The JSON describes the variant asked for (reducer, K, layer), not the defaults: the meta-device count
    of the built model and the formula agree on it, and K tokens per view reach the LLM prefix."""
    shape = get_shape("pi0")
    views, k, text = 3, 8, shape.text_tokens  # not the defaults (2 views, K=16)
    variant = ["--model", "pi0", "--views", str(views), "--reducer", "grids", "--tokens", str(k)]
    inside = flops_json([*variant, "--resample-at-layer", "0"], capsys)  # counted on the meta device
    after = flops_json([*variant, "--formula-only"], capsys)
    dense = flops_json(
        ["--model", "pi0", "--views", str(views), "--reducer", "dense", "--formula-only"], capsys
    )
    counted, formula = inside["counted"], inside["formula"]
    assert after["counted"] is None and dense["counted"] is None
    for stage in (*STAGES, "total"):  # two independent computations of the same variant
        assert counted[stage] == pytest.approx(formula[stage], rel=1e-9), stage
    # the prefix holds views * K image tokens + the prompt, whether reduced before or after the projector;
    # dense: SigLIP 224/14 gives 16x16 tokens per view
    assert counted["llm_prefix"] == pytest.approx(llm_prefix_flops(shape, views * k + text))
    assert after["formula"]["llm_prefix"] == pytest.approx(counted["llm_prefix"])
    assert dense["formula"]["llm_prefix"] == pytest.approx(llm_prefix_flops(shape, views * 256 + text))
    # grids costs something; resampling before vision block 0 shrinks the encoder, after the projector not
    assert counted["reducer"] > 0 and after["formula"]["reducer"] > 0 and dense["formula"]["reducer"] == 0
    assert after["formula"]["vision"] == dense["formula"]["vision"] > 10 * counted["vision"]
    assert inside["floor"] < counted["total"] < after["formula"]["total"] < dense["formula"]["total"]
    assert inside["dense_total"] == after["dense_total"] == dense["formula"]["total"]
    assert dense["formula"]["total"] == pytest.approx(analytic_stages("pi0", views=views).total)


def test_time_alternating_alternates_and_summarizes():
    calls = []
    samples = time_alternating(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, warmup=1, repeats=4
    )
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(samples["a"]) == len(samples["b"]) == 4
    stats = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats["median_ms"] == 3000 and stats["iqr_ms"] == 2000 and stats["repeats"] == 5


def test_measure_latency_on_a_tiny_shape(tiny_shape):
    if tiny_shape.pixel_shuffle > 1:
        pytest.skip("in-encoder variant needs a connector without pixel shuffle")
    variants = [Variant("dense"), Variant("grids-4 L=0", "grids", 4, 0)]
    rows = measure_latency(tiny_shape, variants, batch=2, warmup=1, repeats=3)
    assert [r["label"] for r in rows] == ["dense", "grids-4 L=0"]
    assert rows[0]["speedup"] == 1.0 and rows[1]["flops_ratio"] > 1
    assert all(r["median_ms"] > 0 and r["repeats"] == 3 for r in rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "gpt2"], "--model 'gpt2'"),
        (["--variants", "grids-16,dense"], "must start with 'dense'"),
        (["--variants", "dense,grids-x"], "expected 'dense'"),
        (["--variants", "dense,tome2-4"], "unknown reducer"),
        (["--variants", "dense,grids-16@28"], r"grids-16@28: L=28 is not a block of pi0's 27-block .*\[0, 27\]"),
        (["--depth", "2,1,1", "--variants", "dense,grids-4@3"], r"L=3 is not a block of .* \[0, 2\]"),
        (["--batch", "0"], "--batch values must be >= 1"),
        (["--batch", "1,a"], "comma-separated integers"),
        (["--train-batch", "-8", "--mode", "training"], "--train-batch values must be >= 1"),
        (["--depth", "2,1"], "three integers"),
        (["--repeats", "0"], "--repeats must be >= 1"),
        (["--device", "tpu"], "auto, cpu or cuda"),
    ],
)
def test_latency_bad_input_is_one_line_and_status_2(argv, message, capsys):
    from grids.cli.main import main

    assert main(["latency", *argv, "--plan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grids: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_latency_without_a_gpu_refuses_cuda(monkeypatch, capsys):
    import torch

    from grids.cli.main import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["latency", "--device", "cuda", "--plan"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_latency_plan_prints_flops_and_memory(capsys):
    args = parse(["latency", "--model", "pi0", "--depth", "1,1,1", "--variants", "dense,grids-4@0", "--batch", "1",
                  "--plan"])  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "pi0: weights" in out and "GiB" in out
    assert "pi0/inference/batch1/eager: TFLOP dense" in out and "grids-4@0" in out
