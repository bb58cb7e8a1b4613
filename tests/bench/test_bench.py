"""Benchmark tests: policy with every reducer and both protocols, exact resume, one real episode, quick path.

Small shapes keep the 16 x 16 patch grid (32-pixel images, patch 2) so every reducer sees what it sees
in the benchmark, at a fraction of the cost.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import grids
from grids.bench import train as train_module
from grids.bench.features import CorruptedCopies, FeatureDataset, cache_features
from grids.bench.policy import Policy, PolicyConfig
from grids.bench.report import draw_points, markdown_table, retention_figure, success_by_tokens, write_report
from grids.bench.train import TrainConfig, latest_checkpoint, load_policy, train

MICRO = {"image_size": 32, "patch_size": 2, "dim": 32, "encoder_depth": 2, "policy_depth": 1, "num_heads": 2}


class FakeDemos(torch.utils.data.Dataset):
    """The DemoDataset interface over random frames (two tasks, three short episodes)."""

    def __init__(self, chunk_size: int = 4, image_size: int = 32, lengths=(7, 5, 6)):
        rng = np.random.default_rng(0)
        self.chunk_size, self.image_size = chunk_size, image_size
        self.root, self.camera_names = "fake-demos", ["workspace", "gripperPOV"]
        self.tasks, self.instructions = (
            ["reach-v3", "drawer-close-v3"],
            ["reach the goal", "close the drawer"],
        )
        self._episodes = [
            {
                "images": rng.integers(0, 255, (n, 2, image_size, image_size, 3), dtype=np.uint8),
                "state": rng.standard_normal((n, 4)).astype(np.float32),
                "actions": rng.uniform(-1, 1, (n, 4)).astype(np.float32),
                "task_index": i % 2,
            }
            for i, n in enumerate(lengths)
        ]
        self._frames = [(e, f) for e, ep in enumerate(self._episodes) for f in range(len(ep["actions"]))]
        self.num_episodes, self.num_frames = len(lengths), len(self._frames)

    def __len__(self):
        return self.num_frames

    def __getitem__(self, index):
        e, f = self._frames[index]
        ep = self._episodes[e]
        steps = np.arange(f, f + self.chunk_size)
        return {
            "images": torch.from_numpy(ep["images"][f]),
            "state": torch.from_numpy(ep["state"][f]),
            "actions": torch.from_numpy(ep["actions"][np.minimum(steps, len(ep["actions"]) - 1)]),
            "action_is_pad": torch.from_numpy(steps >= len(ep["actions"])),
            "task_index": torch.tensor(ep["task_index"]),
            "episode_index": torch.tensor(e),
            "frame_index": torch.tensor(f),
        }

    def episode(self, index):
        return {k: v for k, v in self._episodes[index].items() if k != "task_index"}

    def low_dim(self):
        return {key: np.concatenate([ep[key] for ep in self._episodes]) for key in ("state", "actions")}

    def low_dim_frames(self):
        items = [{k: v for k, v in self[i].items() if k != "images"} for i in range(len(self))]
        return {key: torch.stack([item[key] for item in items]) for key in items[0]}


@pytest.fixture
def fake_data(monkeypatch):
    monkeypatch.setattr(train_module, "open_dataset", lambda path, chunk_size: FakeDemos(chunk_size))
    return "fake"


def _batch(cfg: PolicyConfig, batch_size: int = 2, features: bool = False) -> dict:
    batch = {
        "state": torch.randn(batch_size, 4),
        "actions": torch.rand(batch_size, cfg.chunk_size, 4) * 2 - 1,
        "action_is_pad": torch.zeros(batch_size, cfg.chunk_size, dtype=torch.bool),
        "task_index": torch.tensor([0, 1])[:batch_size],
    }
    if features:
        batch["features"] = torch.randn(batch_size, 2, 256, cfg.dim)
    else:
        batch["images"] = torch.randint(
            0, 256, (batch_size, 2, cfg.image_size, cfg.image_size, 3), dtype=torch.uint8
        )
    return batch


@pytest.mark.parametrize("protocol", ["end-to-end", "frozen"])
@pytest.mark.parametrize("reducer", grids.list_reducers())
def test_policy_forward_backward_every_reducer(reducer, protocol):
    torch.manual_seed(0)
    cfg = PolicyConfig(reducer=reducer, num_tokens=4, chunk_size=4, tasks=["a", "b"], **MICRO)
    policy = Policy(cfg)
    if protocol == "frozen":
        policy.encoder.requires_grad_(False)
    batch = _batch(cfg, features=protocol == "frozen")
    loss = policy(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert policy.action_out.weight.grad.abs().sum() > 0
    encoder_grad = policy.encoder.patch_embed.weight.grad
    assert (encoder_grad is not None and encoder_grad.abs().sum() > 0) == (protocol == "end-to-end")
    for name, p in policy.reducer.named_parameters():
        if p.requires_grad and "context_proj" not in name and reducer != "grids-nearest":
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{reducer}: no gradient for {name}"
    policy.eval()
    actions, coords = policy.predict({k: v for k, v in batch.items() if k != "actions"})
    tokens = policy.num_visual_tokens()
    assert actions.shape == (2, 4, 4) and coords.shape == (2, 2, tokens, 2)


@pytest.mark.parametrize(
    "options",
    [
        {"action_head": "flow", "reducer": "grids"},
        {"reducer": "grids", "resample_at_layer": 1},
        {"reducer": "grids", "task_aware": True},
        {"reducer": "topk", "reducer_options": {"score": "query"}, "task_aware": True},
    ],
)
def test_policy_variants(options):
    cfg = PolicyConfig(num_tokens=4, chunk_size=4, tasks=["a", "b"], **{**MICRO, **options})
    policy = Policy(cfg)
    with torch.no_grad():  # two instructions (training fills them from the dataset; zeros would carry no gradient)
        policy.instruction_embeddings.normal_()
    loss = policy(_batch(cfg))
    loss.backward()
    assert torch.isfinite(loss)
    if cfg.task_aware and cfg.reducer == "grids":
        grad = policy.reducer.reducers[0].sampler.head.context_proj.weight.grad
        assert grad is not None and grad.abs().sum() > 0  # the instruction moves the points
    if cfg.resample_at_layer is not None:  # the blocks after the split see K tokens, and still learn
        grad = policy.encoder.blocks[1].qkv.weight.grad
        assert grad is not None and grad.abs().sum() > 0
        with pytest.raises(ValueError, match="resample_at_layer"):
            policy(_batch(cfg, features=True))
    actions, _ = policy.eval().predict(_batch(cfg))
    assert actions.shape == (2, 4, 4) and torch.isfinite(actions).all()


def test_policy_config_errors():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        PolicyConfig(image_size=30, patch_size=4)
    with pytest.raises(ValueError, match="action_head"):
        PolicyConfig(action_head="diffusion")
    with pytest.raises(ValueError, match="resample_at_layer"):
        PolicyConfig(encoder_depth=2, resample_at_layer=3)


def _config(tmp_path, name: str, **kwargs) -> TrainConfig:
    policy = PolicyConfig(
        **{**MICRO, "reducer": "grids", "num_tokens": 4, "chunk_size": 4, **kwargs.pop("policy", {})}
    )
    defaults = dict(
        data="fake", out=str(tmp_path / name), policy=policy, steps=20, batch_size=4, warmup=3, save_every=5,
        log_every=5, language_model="hash", language_cache=str(tmp_path / "lang"), progress=False,
    )  # fmt: skip
    return TrainConfig(**{**defaults, **kwargs})


@pytest.mark.parametrize(
    "policy, ema",
    [
        ({"reducer": "grids"}, 0.0),
        ({"reducer": "random", "action_head": "flow"}, 0.0),
        ({"reducer": "grids"}, 0.9),
    ],
)
def test_kill_and_resume_equals_uninterrupted(tmp_path, fake_data, policy, ema):
    torch.set_num_threads(1)
    straight = train(_config(tmp_path, "straight", policy=policy, ema=ema))
    config = _config(tmp_path, "resumed", policy=policy, ema=ema)
    train(config, stop_after=12)  # "killed" after step 12; the last checkpoint is step 10
    ckpt = latest_checkpoint(config.out)
    assert ckpt.name == "step_0000010"
    (ckpt.parent / ".tmp_step_0000015").mkdir()  # a save interrupted by the kill: ignored, then replaced
    train(config)
    files = ["model", "optimizer"] + (["ema"] if ema else [])
    assert (latest_checkpoint(straight) / "ema.safetensors").is_file() == bool(ema)
    for name in files:
        a = load_file(str(latest_checkpoint(straight) / f"{name}.safetensors"))
        b = load_file(str(latest_checkpoint(config.out) / f"{name}.safetensors"))
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=f"{name}: {key}")
    rows = (tmp_path / "resumed" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["5", "10", "15", "20"]  # no duplicated rows after resume


def test_ema_averages_the_weights_step_by_step_and_evaluation_loads_it(tmp_path, fake_data):
    torch.set_num_threads(1)
    config = _config(tmp_path, "ema", ema=0.5, steps=4, save_every=1, keep_every=1)
    run = train(config)
    ckpts = [run / "checkpoints" / f"step_{k:07d}" for k in range(1, 5)]
    trainable = [n for n, p in load_policy(ckpts[0], ema=False).named_parameters() if p.requires_grad]
    for k in range(1, 4):  # checkpoint k holds the weights after k steps and the EMA after k updates
        decay = min(0.5, (1 + k) / (10 + k))  # the update of (0-based) step k
        ema_k, ema_next = (load_file(str(c / "ema.safetensors")) for c in ckpts[k - 1 : k + 1])
        raw_next = load_file(str(ckpts[k] / "model.safetensors"))
        for name in trainable:
            expected = decay * ema_k[name] + (1 - decay) * raw_next[name]
            torch.testing.assert_close(ema_next[name], expected, msg=name)
    assert any(not torch.equal(ema_next[n], raw_next[n]) for n in trainable)  # an average, not a copy
    averaged, raw = load_policy(run).state_dict(), load_policy(run, ema=False).state_dict()
    for name in trainable:
        torch.testing.assert_close(averaged[name], ema_next[name], rtol=0, atol=0)
        torch.testing.assert_close(raw[name], raw_next[name], rtol=0, atol=0)
    with pytest.raises(ValueError, match="ema must be a decay"):
        _config(tmp_path, "bad", ema=1.0)


class _Interrupted(FakeDemos):
    """FakeDemos that dies (like a killed job) when frame ``die_at`` is read."""

    def __init__(self, die_at: int):
        super().__init__(4)
        self.die_at = die_at

    def __getitem__(self, index):
        if index == self.die_at:
            raise KeyboardInterrupt
        return super().__getitem__(index)


def test_feature_cache_resumes_after_interruption(tmp_path):
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(**MICRO, chunk_size=4, tasks=FakeDemos().tasks))
    straight = FeatureDataset(
        cache_features(policy, FakeDemos(4), tmp_path / "straight", batch_size=4, progress=False)
    )
    with pytest.raises(KeyboardInterrupt):
        cache_features(
            policy, _Interrupted(die_at=13), tmp_path / "resumed", batch_size=4, flush_every=1, progress=False
        )
    assert json.loads((tmp_path / "resumed.tmp" / "progress.json").read_text())["frames"] == 12
    seen = []

    class Counting(FakeDemos):
        def __getitem__(self, index):
            seen.append(index)
            return super().__getitem__(index)

    resumed = FeatureDataset(
        cache_features(policy, Counting(4), tmp_path / "resumed", batch_size=4, progress=False)
    )
    assert min(seen) == 12 and not (tmp_path / "resumed.tmp").exists()  # continued, did not restart
    np.testing.assert_array_equal(resumed.features, straight.features)
    for key, value in straight.lowdim.items():
        torch.testing.assert_close(resumed.lowdim[key], value, rtol=0, atol=0, msg=key)


def test_a_feature_cache_serves_any_action_chunk_length(tmp_path, fake_data):
    policy = Policy(PolicyConfig(**MICRO, chunk_size=4, tasks=FakeDemos().tasks))
    cache = cache_features(policy, FakeDemos(4), tmp_path / "features", batch_size=8, progress=False)
    longer = FeatureDataset(cache).rechunk(FakeDemos(6))
    assert longer.chunk_size == 6
    for i in (0, 6, 17):  # the first frame, the last of episode 0 (five pads), the last of all
        item, expected = longer[i], FakeDemos(6)[i]
        for key in ("state", "actions", "action_is_pad", "task_index"):
            torch.testing.assert_close(item[key], expected[key], rtol=0, atol=0, msg=key)
        torch.testing.assert_close(item["features"], FeatureDataset(cache)[i]["features"], rtol=0, atol=0)
    with pytest.raises(ValueError, match="has 18 frames, the dataset 11"):
        FeatureDataset(cache).rechunk(FakeDemos(6, lengths=(6, 5)))
    config = _config(tmp_path, "dense", policy={"reducer": "dense", "chunk_size": 6})  # training opens it so
    config.frozen_encoder, config.features = None, str(cache)
    _, frames = train_module.open_training_data(config)
    assert frames.chunk_size == 6 and frames[6]["actions"].shape == (6, 4)


def _perturbation(name: str):
    from grids.sim.perturbations import PERTURBATIONS  # MuJoCo: imported only where needed

    return PERTURBATIONS[name]


def test_a_cache_of_noisy_frames_encodes_each_frame_through_its_own_noise(tmp_path):
    policy = Policy(PolicyConfig(**MICRO, chunk_size=4, tasks=FakeDemos().tasks))
    clean = FeatureDataset(cache_features(policy, FakeDemos(4), tmp_path / "clean", batch_size=8, progress=False))
    noise = _perturbation("noise")
    noisy, rebatched = (
        FeatureDataset(cache_features(policy, FakeDemos(4), tmp_path / name, batch_size=size, progress=False,
                                      corrupt=noise, seed=3))  # fmt: skip
        for name, size in (("noisy", 8), ("rebatched", 5))
    )
    assert noisy.meta["corruption"] == {"perturbation": "noise", "seed": 3} and clean.meta["corruption"] is None
    np.testing.assert_array_equal(noisy.features, rebatched.features)  # frame i's noise does not depend on batching
    frame = FakeDemos(4)[7]["images"].numpy()
    expected = policy.dense_features(torch.from_numpy(noise.corrupt(frame, np.random.default_rng([3, 7])))[None])
    torch.testing.assert_close(noisy[7]["features"], expected[0], atol=2e-2, rtol=1e-2)  # float16 cache
    assert not np.allclose(noisy.features[7], clean.features[7], atol=0.05)
    with pytest.raises(ValueError, match="changes the scene"):
        cache_features(policy, FakeDemos(4), tmp_path / "light", corrupt=_perturbation("light"), progress=False)


def test_training_reads_a_corrupted_copy_with_its_probability_and_resumes_exactly(tmp_path, fake_data):
    torch.set_num_threads(1)
    policy = Policy(PolicyConfig(**MICRO, chunk_size=4, tasks=FakeDemos().tasks))
    clean = cache_features(policy, FakeDemos(4), tmp_path / "clean", progress=False)
    noisy = cache_features(policy, FakeDemos(4), tmp_path / "noisy", progress=False,
                           corrupt=_perturbation("noise"), seed=0)  # fmt: skip
    config = _config(tmp_path, "straight", features=str(clean), corrupted_features=str(noisy), corrupted_p=0.5)
    _, frames = train_module.open_training_data(config)
    assert len(frames) == 36  # 18 clean frames, then the same 18 noisy
    torch.testing.assert_close(frames[18 + 5]["features"], FeatureDataset(noisy)[5]["features"], rtol=0, atol=0)
    mixed = frames.__getitems__([20, 1, 19])  # batch order kept across the copies
    torch.testing.assert_close(mixed[1]["features"], FeatureDataset(clean)[1]["features"], rtol=0, atol=0)
    torch.testing.assert_close(mixed[2]["features"], FeatureDataset(noisy)[1]["features"], rtol=0, atol=0)
    with pytest.raises(ValueError, match="holds clean frames"):
        CorruptedCopies(FeatureDataset(clean), [FeatureDataset(clean)])

    indices = np.arange(4000) % 18
    for p in (0.25, 1.0):
        picked = train_module.with_copies(indices, 7, 18, 0, copies=2, p=p)
        assert set(picked % 18 == indices) == {True} and abs((picked >= 18).mean() - p) < 0.03
        np.testing.assert_array_equal(picked, train_module.with_copies(indices, 7, 18, 0, copies=2, p=p))
    np.testing.assert_array_equal(train_module.with_copies(indices, 7, 18, 0, copies=1, p=0.5), indices)

    straight = train(config)  # killed at step 12 and resumed: the same copies are read, the same weights result
    resumed = _config(tmp_path, "resumed", features=str(clean), corrupted_features=str(noisy), corrupted_p=0.5)
    train(resumed, stop_after=12)
    train(resumed)
    for key, value in load_file(str(latest_checkpoint(straight) / "model.safetensors")).items():
        torch.testing.assert_close(
            load_file(str(latest_checkpoint(resumed.out) / "model.safetensors"))[key], value, rtol=0, atol=0
        )
    with pytest.raises(ValueError, match="needs features"):
        _config(tmp_path, "x", corrupted_features=str(noisy))


def test_frozen_encoder_protocol(tmp_path, fake_data):
    torch.set_num_threads(1)
    dense = train(_config(tmp_path, "dense", policy={"reducer": "dense"}))
    dense_policy = load_policy(dense)
    cache = cache_features(dense_policy, FakeDemos(4), dense / "features", progress=False)
    features = FeatureDataset(cache)
    assert len(features) == 18 and features.features.dtype == np.float16
    batch = features.get_batch([3, 0, 7])
    expected = dense_policy.dense_features(torch.stack([FakeDemos(4)[i]["images"] for i in (3, 0, 7)]))
    torch.testing.assert_close(batch["features"], expected, atol=2e-2, rtol=1e-2)  # float16 cache

    config = _config(tmp_path, "grids", frozen_encoder=str(dense))
    start = train_module.build_policy(TrainConfig.from_dict(config.to_dict()), FakeDemos(4))  # step 0
    trained = load_policy(train(config))
    for key, value in dense_policy.encoder.state_dict().items():  # the encoder stayed frozen
        torch.testing.assert_close(trained.encoder.state_dict()[key], value, rtol=0, atol=0)
    assert not torch.equal(trained.action_out.weight, start.action_out.weight)  # the head trained
    sampler = trained.reducer.reducers[0].sampler  # and so did the reducer on the frozen features
    assert not torch.equal(sampler.head.to_coords.weight, start.reducer.reducers[0].sampler.head.to_coords.weight)


def test_report_table_plot_and_points(tmp_path):
    result = {
        "name": "grids-4",
        "reducer": "grids",
        "label": "grids",
        "visual_tokens_per_view": 4,
        "tasks": ["reach-v3"],
        "per_task": {"none": {"reach-v3": {"episodes": 20, "success_rate": 0.5}}},
        "summary": {
            "none": {"episodes": 20, "success_rate": 0.5, "mean_length": 50.0, "policy_ms_per_step": 3.0}
        },
    }
    assert "| grids-4 | grids | 4 | 50.0 | 50 | 30–70 | — | 20 per task |" in markdown_table([result])
    episodes = [{"task": "reach-v3", "seed": i, "perturbation": "none", "success": i < 10} for i in range(20)]
    better = {**result, "name": "grids-16", "episodes": [{**e, "success": True} for e in episodes]}
    table = markdown_table([{**result, "episodes": episodes}, better])
    assert (
        "| +50.0 (10/0, p = 0.002) |" in table
    )  # paired: 10 episodes only grids-16 solved, none the other way
    slightly = {**better, "episodes": [{**e, "success": e["seed"] < 12} for e in episodes]}
    assert "| +10.0 (2/0, p = 0.500, within noise) |" in markdown_table(
        [{**result, "episodes": episodes}, slightly]
    )
    shifted = [  # evaluations under a shift only: the interval and Δ columns name it and use it
        {**r, "per_task": {"light": r["per_task"]["none"]}, "summary": {"light": r["summary"]["none"]},
         "episodes": [{**e, "perturbation": "light"} for e in r["episodes"]]}
        for r in ({**result, "episodes": episodes}, better)
    ]  # fmt: skip
    table = markdown_table(shifted)
    assert "95% CI (light)" in table and "(none)" not in table
    assert "| +50.0 (10/0, p = 0.002) |" in table
    # beside clean rows, a run evaluated under the shift alone (a camera seed): no clean or per-task cells, no error
    table = markdown_table([{**result, "episodes": episodes}, {**shifted[1], "name": "grids-16 (seed 1)"}])
    assert "| grids-16 (seed 1) | grids | 4 | — | 50.0 | — |" in table
    paths = write_report([result], tmp_path / "bench_test", command="grids bench test")
    assert paths["png"].stat().st_size > 1000
    assert json.loads(paths["json"].read_text())["command"] == "grids bench test"
    views = np.zeros((2, 128, 128, 3), dtype=np.uint8)
    drawn = draw_points(views, np.array([[[0.0, 0.0]], [[1.0, 1.0]]]), patch_size=8)
    assert drawn.shape == (128, 256, 3)
    assert drawn[4, 4].tolist() == [255, 230, 0] and drawn[123, 128 + 123].tolist() == [40, 255, 255]


def test_success_by_tokens_gathers_a_reducers_seeds_into_one_point_per_k():
    def row(label, tokens, seed, success, perturbation="none"):
        return {"label": label, "reducer": label, "visual_tokens_per_view": tokens, "seed": seed,
                "summary": {perturbation: {"success_rate": success}}}  # fmt: skip

    rows = [row("grids", 4, 0, 0.8), row("grids", 4, 1, 0.6), row("grids", 16, 0, 0.9), row("topk", 4, 0, 0.5)]
    rows.append(row("grids", 1, 0, 0.2, perturbation="light"))  # another shift: not on the clean plot
    lines = success_by_tokens(rows)
    assert list(lines) == ["grids", "topk"]
    assert [k for k, _ in lines["grids"]] == [4, 16]  # sorted by K, seeds gathered, not a point per row
    assert lines["grids"][0][1] == pytest.approx([80.0, 60.0]) and lines["topk"] == [(4, [50.0])]
    assert success_by_tokens(rows, perturbation="light") == {"grids": [(1, [20.0])]}


def test_report_table_pairs_each_seed_with_the_references_same_seed():
    def row(name: str, seed: int, solved: int) -> dict:
        episodes = [{"task": "reach-v3", "seed": i, "perturbation": "none", "success": i < solved} for i in range(20)]
        return {"name": name if seed == 0 else f"{name} (seed {seed})", "seed": seed, "reducer": name,
                "visual_tokens_per_view": 16, "tasks": ["reach-v3"], "episodes": episodes,
                "per_task": {"none": {"reach-v3": {"episodes": 20, "success_rate": solved / 20}}},
                "summary": {"none": {"episodes": 20, "success_rate": solved / 20, "mean_length": 50.0,
                                     "policy_ms_per_step": 3.0}}}  # fmt: skip

    rows = [row("dense", 0, 10), row("dense", 1, 20), row("grids", 0, 10), row("grids", 1, 10)]
    lines = markdown_table(rows).splitlines()
    assert "Δ vs dense (none; same training seed, only this/only ref)" in lines[0]
    assert "| +50.0 (10/0, p = 0.002) |" in lines[3]  # dense seed 1 against dense seed 0: the seeds' spread
    assert "| +0.0 (0/0, p = 1.000, within noise) |" in lines[4]  # grids seed 0 against dense seed 0
    assert "| -50.0 (0/10, p = 0.002) |" in lines[5]  # grids seed 1 against dense seed 1, not seed 0
    assert "same training seed" not in markdown_table(rows[:1] + rows[2:3])


def test_evaluate_one_short_episode(tmp_path, demos):
    from grids.bench.evaluate import evaluate
    from grids.bench.report import write_gif

    torch.set_num_threads(1)
    config = _config(tmp_path, "run", steps=2)
    config.data = str(demos)
    run = train(config)
    result = evaluate(run, ["reach-v3"], episodes=1, workers=1, max_steps=5, record=True, progress=False)
    summary = result["summary"]["none"]
    assert summary["episodes"] == 1 and 1 <= summary["mean_length"] <= 5
    assert summary["policy_ms_per_step"] > 0 and result["visual_tokens_per_view"] == 4
    assert "max_reward" not in result["episodes"][0] and "mean_max_reward" not in summary  # ALOHA's only
    rec = result["recording"]
    assert rec["frames"].shape[1:] == (2, 32, 32, 3) and rec["coords"].shape[1:] == (2, 4, 2)
    gif = write_gif(rec, tmp_path / "episode.gif", patch_size=2)
    assert 0 < gif.stat().st_size < 2_000_000


def test_evaluate_with_training_draws_keeps_the_reducers_randomness_at_every_step(tmp_path, demos):
    from grids.bench.evaluate import evaluate

    torch.set_num_threads(1)
    config = _config(tmp_path, "run", steps=2, policy={"reducer": "random"})
    config.data = str(demos)
    run = train(config)
    kwargs = {"episodes": 1, "workers": 1, "max_steps": 6, "record": True, "progress": False}
    protocol = evaluate(run, ["reach-v3"], **kwargs)["recording"]["coords"]  # [T, V, K, 2]
    draws = evaluate(run, ["reach-v3"], draws="training", **kwargs)
    assert (protocol == protocol[:1]).all()  # one fixed draw under the protocol
    assert not (draws["recording"]["coords"] == draws["recording"]["coords"][:1]).all()  # fresh ones with draws
    assert draws["draws"] == "training"
    with pytest.raises(ValueError, match="draws must be one of evaluation, training, got 'train'"):
        evaluate(run, ["reach-v3"], draws="train", **kwargs)


def test_evaluate_runs_execute_steps_per_prediction_in_its_workers_and_records_it(tmp_path, demos):
    from grids.bench.evaluate import evaluate

    torch.set_num_threads(1)
    config = _config(tmp_path, "run", steps=2)
    config.data = str(demos)
    run = train(config)
    kwargs = {"episodes": 1, "workers": 1, "max_steps": 6, "progress": False}
    default, every_step = evaluate(run, ["reach-v3"], **kwargs), evaluate(run, ["reach-v3"], execute_steps=1, **kwargs)
    chunk = config.policy.chunk_size
    assert default["execute_steps"] == chunk // 2 and every_step["execute_steps"] == 1
    (ran_default,), (ran_every_step,) = default["episodes"], every_step["episodes"]
    assert ran_default["policy_calls"] == -(-ran_default["length"] // (chunk // 2))
    assert ran_every_step["policy_calls"] == ran_every_step["length"] > chunk // 2
    with pytest.raises(ValueError, match=f"execute_steps must be an int in 1..{chunk}"):
        evaluate(run, ["reach-v3"], execute_steps=chunk + 1, **kwargs)


def _untimed(rows) -> list[dict]:
    return [{k: v for k, v in r.items() if "_ms" not in k and "seconds" not in k} for r in rows]


def test_evaluation_killed_midway_resumes_from_its_journal(tmp_path, demos, monkeypatch):
    from grids.bench import evaluate as evaluation
    from grids.bench import pool

    torch.set_num_threads(1)
    config = _config(tmp_path, "run", steps=2)
    config.data = str(demos)
    run = train(config)
    kwargs = {
        "episodes": 3,
        "perturbations": ("none", "noise"),
        "workers": 1,
        "max_steps": 3,
        "progress": False,
    }
    straight = evaluation.evaluate(run, ["reach-v3"], **kwargs)
    journal = tmp_path / "eval.journal.jsonl"
    evaluation.evaluate(run, ["reach-v3"], journal=journal, **kwargs)
    header, *lines = journal.read_text().splitlines()
    assert len(lines) == 6
    journal.write_text("\n".join([header, *lines[:4], lines[4][:10]]))  # killed while writing episode 5
    ran = []
    run_job = pool._run_job
    monkeypatch.setattr(pool, "_run_job", lambda job: ran.append(job) or run_job(job))
    resumed = evaluation.evaluate(run, ["reach-v3"], journal=journal, **kwargs)
    assert [job[:3] for job in ran] == [("reach-v3", "noise", [100_000, 100_001, 100_002])]  # one job per 3
    assert _untimed(resumed["episodes"]) == _untimed(straight["episodes"])
    assert _untimed(resumed["summary"].values()) == _untimed(straight["summary"].values())
    ran.clear()
    longer = evaluation.evaluate(run, ["reach-v3"], **{**kwargs, "episodes": 6}, reuse=straight["episodes"])
    assert [job[:3] for job in ran] == [
        ("reach-v3", p, [100_003, 100_004, 100_005]) for p in ("none", "noise")
    ]
    assert _untimed(longer["episodes"][:3]) == _untimed(straight["episodes"][:3])  # the reused, as they were
    with pytest.raises(ValueError, match="journals another evaluation"):
        evaluation.evaluate(run, ["reach-v3"], journal=journal, **{**kwargs, "episodes": 2})


def test_where_it_looks_figure(tmp_path, demos):
    from grids.bench.analysis import looks
    from grids.bench.report import points_figure

    torch.set_num_threads(1)
    config = _config(tmp_path, "run", steps=2)
    config.data = str(demos)
    run = train(config)
    policy = load_policy(run)
    episodes = {}
    seen = looks(policy, ["reach-v3"], at_steps=(0, 3), keep=episodes)
    (t0, views, coords), (t3, _, _) = seen["reach-v3"]
    episode = episodes["reach-v3"]
    assert episode["positions"].shape == (4, 3, 2) and np.all(
        (episode["positions"] > 0) & (episode["positions"] < 1)
    )
    assert (t0, t3) == (0, 3) and views.shape == (2, 32, 32, 3) and coords.shape == (2, 4, 2)
    state = policy.state_mean[None]  # the points depend on the images only
    _, direct = policy.predict(
        {"images": torch.from_numpy(views)[None], "state": state, "task_index": torch.tensor([0])}
    )
    torch.testing.assert_close(torch.from_numpy(coords), direct[0])  # the points of that frame, not others
    png = points_figure(seen, tmp_path / "looks.png", patch_size=2, title="micro")
    assert png.stat().st_size > 1000


def test_where_it_looks_follows_the_evaluations_receding_horizon():
    from grids.bench.analysis import looks

    calls = {}
    for execute_steps in (None, 1):
        policy = ConstantReachPolicy()
        looks(policy, ["reach-v3"], at_steps=(0, 3), execute_steps=execute_steps)
        calls[execute_steps] = len(policy.seen)  # predictions, not the points recorded between them
    assert calls == {None: 2, 1: 4}  # 4 steps: every 2 (half the chunk of 4), or every step


def test_content_statistics_finds_the_point_that_tracks_the_gripper():
    from grids.bench.analysis import content_statistics

    steps = np.linspace(0.2, 0.8, 12)
    positions = np.stack([np.stack([steps, 1 - steps], -1), np.full((12, 2), 0.5), np.full((12, 2), 0.3)], 1)
    coords = np.full((12, 2, 3, 2), 0.4)  # [T, V, K, 2]: three fixed points, then one that tracks the gripper
    coords[:, 0, 1] = positions[:, 0] * 0.9 + 0.05
    coords[:, 0, 2] = np.random.default_rng(0).uniform(size=(12, 2))
    from grids.diagnostics import PointsWarning

    with pytest.warns(PointsWarning, match="collapsed: 100% of point pairs"):  # the gripper view's points
        stats = content_statistics({"coords": coords, "positions": positions}, (16, 16))
    assert stats["gripper"]["best"] > 0.999 and stats["gripper"]["mean"] < 0.6
    assert stats["object"]["best"] is None and stats["goal"]["best"] is None  # static: nothing to follow
    assert stats["view1"]["tied_fraction"] == 1.0  # all points of the gripper view on one spot
    with pytest.warns(PointsWarning):  # ALOHA records no privileged positions: collapse and border only
        bare = content_statistics({"coords": coords}, (16, 16))
    assert bare["view1"] == stats["view1"] and "gripper" not in bare


def test_point_statistics(tmp_path):
    from grids.bench.analysis import point_statistics

    torch.manual_seed(0)
    data = FakeDemos(4)
    grids_policy = Policy(
        PolicyConfig(reducer="grids", num_tokens=4, chunk_size=4, tasks=data.tasks, **MICRO)
    ).eval()
    fixed = point_statistics(grids_policy, data, frames=8)
    assert fixed["frames"] == 8 and fixed["tokens_per_view"] == 4
    assert fixed["views"]["view0"]["moved_from_init"] < 0.05  # fresh: still at the spread layout
    with torch.no_grad():  # make the points follow the image: they must now spread over frames
        grids_policy.reducer.reducers[0].sampler.head.to_coords.weight.normal_(std=1.0)
    moving = point_statistics(grids_policy, data, frames=8)
    assert moving["views"]["view0"]["std_over_frames"] > 10 * fixed["views"]["view0"]["std_over_frames"]
    uniform = Policy(
        PolicyConfig(reducer="uniform", num_tokens=4, chunk_size=4, tasks=data.tasks, **MICRO)
    ).eval()
    stats = point_statistics(uniform, data, frames=8)["views"]["view1"]
    assert (
        stats["moved_from_init"] is None and stats["std_over_frames"] == 0 and stats["std_between_tasks"] == 0
    )
    assert stats["std_within_task"] == 0 and moving["views"]["view0"]["std_within_task"] > 0
    examples = {}
    point_statistics(grids_policy, data, frames=len(data), examples=examples)
    assert sorted(examples) == sorted(data.tasks)
    views, maps, coords = examples[data.tasks[0]]
    assert views.shape == (2, 32, 32, 3) and maps.shape == (2, 16, 16) and coords.shape == (2, 4, 2)
    png = retention_figure(examples, tmp_path / "retention.png", patch_size=2, title="t")
    assert png.stat().st_size > 1000
    dense = Policy(PolicyConfig(reducer="dense", chunk_size=4, tasks=data.tasks, **MICRO)).eval()
    every_cell = point_statistics(dense, data, frames=8)["views"]["view0"]
    assert every_cell["retention_mean"] == pytest.approx(1.0, abs=1e-5)  # every cell is read
    assert fixed["views"]["view0"]["retention_p10"] < fixed["views"]["view0"]["retention_mean"] < 0.999


def test_shift_statistics_separates_moving_points_from_changed_features():
    from grids.bench.analysis import shift_statistics
    from grids.errors import UserError

    torch.manual_seed(0)
    data = FakeDemos(4)
    grids_policy = Policy(
        PolicyConfig(reducer="grids", num_tokens=4, chunk_size=4, tasks=data.tasks, **MICRO)
    ).eval()
    fresh = shift_statistics(grids_policy, data, "noise", frames=8)
    assert fresh["frames"] == 8 and sorted(fresh["views"]) == ["view0", "view1"]
    view = fresh["views"]["view0"]
    assert view["points_matched"] < 0.05  # a fresh head: the spread layout, whatever the image
    assert view["dense_cosine"] < 0.999  # the noise reaches the features
    assert view["read_cosine"] == pytest.approx(view["read_cosine_same_points"], abs=1e-3)
    with torch.no_grad():  # points that follow the image: the noise now moves them too
        grids_policy.reducer.reducers[0].sampler.head.to_coords.weight.normal_(std=1.0)
    moving = shift_statistics(grids_policy, data, "noise", frames=8)["views"]["view0"]
    assert moving["points_matched"] > 0.1 and moving["points_set"] <= moving["points_matched"] + 1e-6
    assert shift_statistics(grids_policy, data, "noise", frames=8)["views"]["view0"] == moving  # seeded
    with pytest.raises(UserError, match="needs the simulator"):
        shift_statistics(grids_policy, data, "light", frames=8)


def test_retention_is_one_where_a_point_reads_a_cell():
    from grids.bench.analysis import retention

    torch.manual_seed(0)
    dense = torch.randn(2, 3, 4 * 5, 8)  # [B, V, H*W, C] on a 4 x 5 grid
    coords = torch.tensor([2 / 4, 3 / 3]).expand(2, 3, 1, 2)  # one point on column 2, row 3
    maps = retention(dense, coords, (4, 5))
    assert maps.shape == (2, 3, 4, 5)
    torch.testing.assert_close(maps[..., 3, 2], torch.ones(2, 3))
    assert (maps.flatten(2).sort(-1).values[..., -2] < 1 - 1e-3).all()  # no other cell equals it


def test_shift_maps_moves_content_by_whole_cells():
    from grids.bench.policy import random_shift, shift_maps

    maps = torch.zeros(1, 1, 8, 8, 3)
    maps[0, 0, 3, 4] = torch.tensor([1.0, 2.0, 3.0])  # one marked cell at (x=4, y=3)
    flat = maps.flatten(2, 3)  # [B, V, H*W, C]
    moved = shift_maps(flat, (8, 8), torch.tensor([[2.0, -1.0]])).reshape(8, 8, 3)
    expected = torch.zeros(8, 8, 3)
    expected[2, 6] = torch.tensor([1.0, 2.0, 3.0])  # x + 2, y - 1
    torch.testing.assert_close(moved, expected, atol=1e-5, rtol=0)
    half = shift_maps(flat, (8, 8), torch.tensor([[0.5, 0.0]])).reshape(8, 8, 3)
    torch.testing.assert_close(half[3, 4:6, 0], torch.tensor([0.5, 0.5]))  # bilinear between two cells
    torch.testing.assert_close(random_shift(flat, (8, 8), 0.0), flat, atol=1e-5, rtol=0)  # no shift: identity
    torch.manual_seed(0)
    a = random_shift(flat.expand(4, 2, -1, -1), (8, 8), 1.0).flatten(0, 1)  # [B * V, H * W, C]
    for i in range(len(a)):  # each map its own shift: no two of the 8 agree (nor a sample's 2 views)
        for j in range(i):
            assert not torch.allclose(a[i], a[j]), (i, j)


def test_pretrained_protocol(tmp_path, fake_data):
    """Frozen ImageNet features cached once; a dense head and a grids head train on them; the encoder stays put."""
    torch.set_num_threads(1)
    policy_cfg = {**MICRO, "encoder": "mobilenetv2", "feature_shift": 0.5}
    source = Policy(PolicyConfig(**policy_cfg))
    cache = cache_features(source, FakeDemos(4), tmp_path / "features", progress=False)
    features = FeatureDataset(cache)
    assert features.features.shape == (18, 2, 256, 96) and features.meta["encoder"] == "mobilenetv2"
    images = torch.stack([FakeDemos(4)[i]["images"] for i in (2, 5)])
    with torch.no_grad():
        expected = source.dense_features(images)
    torch.testing.assert_close(features.get_batch([2, 5])["features"], expected, atol=2e-2, rtol=1e-2)

    for reducer, tokens in (("dense", 256), ("grids", 4)):
        config = _config(tmp_path, reducer, policy={**policy_cfg, "reducer": reducer, "num_tokens": tokens})
        config.features = str(cache)
        start = train_module.build_policy(TrainConfig.from_dict(config.to_dict()), FakeDemos(4))
        trained = load_policy(train(config))
        assert trained.num_visual_tokens() == tokens
        for key, value in source.encoder.state_dict().items():  # frozen, still ImageNet's
            assert torch.equal(trained.encoder.state_dict()[key], value), key
        assert not torch.equal(trained.projector.proj.weight, start.projector.proj.weight)  # the head trained
        assert not torch.equal(trained.action_out.weight, start.action_out.weight)
        with torch.no_grad():  # evaluation reads raw images through the same frozen encoder
            actions, coords = trained.predict(
                {"images": images, "state": torch.zeros(2, 4), "task_index": torch.tensor([0, 1])}
            )
        assert actions.shape == (2, 4, 4) and coords.shape == (2, 2, tokens, 2)


def test_pretrained_protocol_with_a_trainable_top(tmp_path, fake_data):
    """encoder_top=3: the cache holds the trunk (64 channels), blocks 11-13 train with the head, the trunk does not;
    a cache of the whole tower is refused, naming encoder_top."""
    torch.set_num_threads(1)
    policy_cfg = {**MICRO, "encoder": "mobilenetv2", "feature_shift": 0.5, "encoder_top": 3}
    source = Policy(PolicyConfig(**policy_cfg))
    cache = cache_features(source, FakeDemos(4), tmp_path / "trunk", progress=False)
    features = FeatureDataset(cache)
    assert features.features.shape == (18, 2, 256, 64) and features.meta["encoder_top"] == 3
    images = torch.stack([FakeDemos(4)[i]["images"] for i in (2, 5)])
    with torch.no_grad():  # from the cached trunk or from images: the same tokens
        from_cache = source.visual_tokens(None, None, features=features.get_batch([2, 5])["features"]).tokens
        torch.testing.assert_close(from_cache, source.visual_tokens(images, None).tokens, atol=5e-2, rtol=1e-2)

    config = _config(tmp_path, "top", policy={**policy_cfg, "reducer": "grids", "num_tokens": 4})
    config.features = str(cache)
    start = train_module.build_policy(TrainConfig.from_dict(config.to_dict()), FakeDemos(4))
    trained = load_policy(train(config))
    before, after = start.encoder.features, trained.encoder.features
    for block in range(14):
        same = all(torch.equal(a, b) for a, b in zip(before[block].parameters(), after[block].parameters(), strict=True))
        assert same == (block < 11), block  # the trunk is ImageNet's, the top trained
    whole = cache_features(Policy(PolicyConfig(**{**policy_cfg, "encoder_top": 0})), FakeDemos(4),
                           tmp_path / "whole", progress=False)  # fmt: skip
    config = _config(tmp_path, "mismatch", policy={**policy_cfg, "reducer": "grids", "num_tokens": 4})
    config.features = str(whole)
    with pytest.raises(ValueError, match="encoder_top=3"):
        train(config)


def test_encoder_top_needs_the_pretrained_encoder():
    with pytest.raises(ValueError, match="encoder='mobilenetv2'"):
        PolicyConfig(**MICRO, encoder_top=3)
    with pytest.raises(ValueError, match=r"encoder_top must be an int in 0\.\.6"):
        PolicyConfig(**MICRO, encoder="mobilenetv2", encoder_top=9)


@pytest.mark.parametrize("shift", [-0.5, float("nan"), "0.5"])
def test_feature_shift_must_be_a_non_negative_number(shift):
    with pytest.raises(ValueError, match=re.escape(f"feature_shift must be a number of cells in [0, inf), got {shift!r}")):
        PolicyConfig(**MICRO, encoder="mobilenetv2", feature_shift=shift)


def test_training_refuses_data_from_another_camera(tmp_path, fake_data, monkeypatch):
    old = FakeDemos(4)
    old.camera_names = ["corner3", "gripperPOV"]
    monkeypatch.setattr(train_module, "open_dataset", lambda path, chunk_size: old)
    with pytest.raises(
        ValueError, match="recorded with the 'corner3' camera but the policy uses 'workspace'"
    ):
        train(_config(tmp_path, "old"))


def test_mcnemar_exact_p_values():
    from grids.bench.report import mcnemar_p

    a = {i: True for i in range(10)}
    b = {i: i >= 6 for i in range(10)}  # a alone solves 6 episodes, b alone none
    assert mcnemar_p(a, b) == (6, 0, 2 / 2**6)  # two-sided exact binomial: 2 * 0.5^6
    b[0], a[9] = True, False  # now 5 against 1
    assert mcnemar_p(a, b) == (5, 1, 2 * (1 + 6) / 2**6)
    assert mcnemar_p(a, a) == (0, 0, 1.0)  # identical runs: no evidence either way
    assert mcnemar_p({1: True, 2: False}, {2: True, 3: True}) == (0, 1, 1.0)  # only shared episodes count


def test_a_given_language_embedding_replaces_the_task_s_own():
    torch.manual_seed(0)
    cfg = PolicyConfig(reducer="grids", num_tokens=4, chunk_size=4, tasks=["a", "b"], **MICRO)
    policy = Policy(cfg).eval()
    policy.instruction_embeddings.normal_()
    batch = {k: v for k, v in _batch(cfg).items() if k != "actions"}
    own, _ = policy.predict(batch)
    same, _ = policy.predict({**batch, "language": policy.instruction_embeddings[batch["task_index"]]})
    other, _ = policy.predict({**batch, "language": torch.randn(2, cfg.language_dim)})
    torch.testing.assert_close(same, own)
    assert (other - own).abs().max() > 1e-4


class FakeAlohaDemos(FakeDemos):
    """FakeDemos with ALOHA's cameras and 14-d joint positions as state and actions (radians: beyond [-1, 1])."""

    def __init__(self, chunk_size: int = 4):
        super().__init__(chunk_size)
        self.camera_names = ["top", "angle"]
        rng = np.random.default_rng(1)
        for ep in self._episodes:
            n = len(ep["actions"])
            ep["state"] = rng.uniform(-2.5, 2.5, (n, 14)).astype(np.float32)
            ep["actions"] = (rng.uniform(-2.5, 2.5, (n, 14)) + np.arange(14) / 7).astype(np.float32)


def test_joint_position_actions_are_standardised_with_the_dataset_s_statistics(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    data = FakeAlohaDemos(4)
    monkeypatch.setattr(train_module, "open_dataset", lambda path, chunk_size: data)
    policy = train_module.build_policy(_config(tmp_path, "aloha"), data)
    cfg, actions = policy.cfg, data.low_dim()["actions"]
    assert cfg.action_stats and cfg.camera == "top" and (cfg.state_dim, cfg.action_dim) == (14, 14)
    torch.testing.assert_close(policy.action_mean, torch.from_numpy(actions.mean(0)))
    torch.testing.assert_close(policy.action_std, torch.from_numpy(actions.std(0)))
    joints = torch.from_numpy(actions[:6])
    assert policy.scale_actions(joints).abs().max() < 3  # standardised for the head
    torch.testing.assert_close(policy.unscale_actions(policy.scale_actions(joints)), joints)

    # predict returns the head's output in joint units: raw * std + mean
    batch = {k: v for k, v in _batch(cfg).items() if k != "actions"}
    batch["state"] = torch.zeros(2, 14)
    policy.eval()
    predicted, _ = policy.predict(batch)
    cfg.action_stats = False
    raw, _ = policy.predict(batch)
    cfg.action_stats = True
    torch.testing.assert_close(predicted, raw * policy.action_std + policy.action_mean)

    # the statistics travel with the checkpoint
    loaded = load_policy(train(_config(tmp_path, "aloha", steps=2, save_every=2)))
    assert loaded.cfg.action_stats and torch.equal(loaded.action_mean, policy.action_mean)

    # MetaWorld's [-1, 1] actions are used as they are, and the state dict keeps its old keys
    metaworld = train_module.build_policy(_config(tmp_path, "mw"), FakeDemos(4))
    assert not metaworld.cfg.action_stats and "action_mean" not in metaworld.state_dict()
    torch.testing.assert_close(metaworld.unscale_actions(joints), joints)


class JointTargetPolicy:
    """Predicts the same 14 joint targets at every call; the wrists' beyond [-1, 1], as ALOHA's demos have."""

    target = np.array([0.0, -0.96, 1.16, 0.0, -0.3, 2.0, 1.0] * 2, dtype=np.float32)

    def __init__(self):
        from types import SimpleNamespace

        self.cfg = SimpleNamespace(chunk_size=4, tasks=["transfer-cube"], image_size=16, camera="top")
        self.instruction_embeddings = torch.zeros(1, 384)

    def predict(self, batch):
        actions = torch.from_numpy(self.target).expand(1, self.cfg.chunk_size, 14)
        return actions, torch.zeros(1, 2, 4, 2)


def test_an_aloha_episode_sends_joint_targets_unclamped_and_records_its_max_reward():
    pytest.importorskip("gym_aloha", reason="ALOHA needs the aloha extra")
    from grids.bench.rollout import EVAL_SEED_BASE, policy_env, run_episode

    policy = JointTargetPolicy()
    env = policy_env(policy, "transfer-cube", "none", 3)  # the policy's camera and image size
    sent = []
    step = env.step
    env.step = lambda action, **kwargs: sent.append(np.array(action)) or step(action, **kwargs)
    try:
        result = run_episode(policy, env, EVAL_SEED_BASE)
    finally:
        env.close()
    assert env.image_size == 16 and env.camera_names == ("top", "angle")
    assert len(sent) == result["length"] == 3
    for action in sent:
        np.testing.assert_array_equal(action, policy.target)  # 2.0 rad reaches the wrist, not 1.0
    assert result["max_reward"] == 0.0 and not result["success"]


class ConstantReachPolicy:
    """MetaWorld's 4-d actions, the same at every call; keeps the images each call was given."""

    def __init__(self):
        from types import SimpleNamespace

        self.cfg = SimpleNamespace(chunk_size=4, tasks=["reach-v3"], image_size=16, camera="workspace")
        self.instruction_embeddings = torch.zeros(1, 384)
        self.seen = []

    def predict(self, batch):
        self.seen.append(batch["images"].clone())  # a None image would fail here
        action = torch.tensor([0.3, -0.2, 0.1, 0.5]).expand(1, self.cfg.chunk_size, 4)
        return action, torch.zeros(1, 2, 4, 2)

    def visual_tokens(self, images, language):  # where the reducer reads between calls (recorded episodes)
        from types import SimpleNamespace

        return SimpleNamespace(coords=torch.zeros(images.shape[0], 2, 4, 2))


@pytest.mark.parametrize("record", [False, True])
def test_an_episode_renders_only_the_frames_the_policy_sees(record):
    from grids.bench.rollout import EVAL_SEED_BASE, policy_env, run_episode

    def episode(always_render: bool):
        policy = ConstantReachPolicy()
        env = policy_env(policy, "reach-v3", "none", 9)
        flags, step = [], env.step
        env.step = lambda action, render=True: flags.append(render) or step(action, render=render or always_render)
        try:
            result = run_episode(policy, env, EVAL_SEED_BASE, record=record)
        finally:
            env.close()
        return result, policy.seen, flags

    lean, seen, flags = episode(always_render=False)
    full, seen_full, _ = episode(always_render=True)
    assert lean["length"] == full["length"] == 9 and lean["policy_calls"] == len(seen) == 5  # every 2 steps
    # the step before each later call renders; no other does (all of them when the frames are recorded)
    assert flags == [True] * 9 if record else [False, True] * 4 + [False]
    for images, images_full in zip(seen, seen_full, strict=True):  # skipping renders changes nothing seen
        torch.testing.assert_close(images, images_full, rtol=0, atol=0)
    if record:
        assert lean["frames"].shape[0] == 9


@pytest.mark.parametrize(("execute_steps", "calls"), [(None, 5), (1, 9), (3, 3), (4, 3)])
def test_an_episode_predicts_again_after_execute_steps_actions(execute_steps, calls):
    """The receding horizon: a chunk of 4, half of it run by default; openpi's LIBERO client runs 5 of 50."""
    from grids.bench.rollout import EVAL_SEED_BASE, policy_env, run_episode

    policy = ConstantReachPolicy()
    env = policy_env(policy, "reach-v3", "none", 9)
    try:
        result = run_episode(policy, env, EVAL_SEED_BASE, execute_steps=execute_steps)
    finally:
        env.close()
    assert result["length"] == 9 and result["policy_calls"] == len(policy.seen) == calls


@pytest.mark.parametrize("execute_steps", [0, 5, 2.0, True])
def test_an_execute_horizon_outside_the_chunk_is_named(execute_steps):
    from grids.bench.rollout import execute_horizon

    with pytest.raises(ValueError, match=r"execute_steps must be an int in 1\.\.4 \(the policy's chunk\)"):
        execute_horizon(4, execute_steps)


def test_summaries_give_mean_max_reward_and_both_success_definitions(tmp_path):
    from grids.bench.evaluate import _summarise

    episodes = [
        {"success": s, "max_reward": r, "length": 300, "policy_seconds": 0.3, "policy_calls": 75}
        for s, r in [(False, 0.0), (False, 1.0), (True, 4.0), (False, 2.0)]
    ]
    summary = _summarise(episodes)
    assert summary["success_rate"] == 0.25  # the top stage reached
    assert summary["lenient_success_rate"] == 0.75  # max reward >= 0.5: first contact counts
    assert summary["mean_max_reward"] == 1.75  # the paper's "env reward"
    assert "mean_max_reward" not in _summarise(
        [{k: v for k, v in e.items() if k != "max_reward"} for e in episodes]
    )

    per_task = {"insertion": {**summary}, "transfer-cube": {**summary, "mean_max_reward": 3.5}}
    result = {"name": "grids-16", "reducer": "grids", "visual_tokens_per_view": 16,
              "tasks": ["transfer-cube", "insertion"], "per_task": {"none": per_task}, "summary": {"none": summary}}  # fmt: skip
    table = markdown_table([result])
    assert "SR max reward ≥ 0.5 (none) | mean max reward (none) | transfer-cube max reward (none)" in table
    assert "| 25 | 25 | 75.0 | 1.75 | 3.50 | 1.75 |" in table


def test_libero_summaries_count_episodes_that_lifted_the_target_or_another_object():
    from grids.bench.evaluate import _summarise

    lifted = [["soup"], [], ["ketchup"], ["ketchup", "soup"]]  # the target is the soup
    episodes = [
        {"success": i == 0, "lifted": names, "target": "soup", "length": 10, "policy_seconds": 0.1, "policy_calls": 3}
        for i, names in enumerate(lifted)
    ]
    summary = _summarise(episodes)
    assert summary["target_lifted_rate"] == 0.5 and summary["other_lifted_rate"] == 0.5
    assert "target_lifted_rate" not in _summarise([{k: v for k, v in e.items() if k != "target"} for e in episodes])
    result = {"name": "dense", "reducer": "dense", "visual_tokens_per_view": 256, "tasks": ["t"],
              "per_task": {"none": {"t": summary}}, "summary": {"none": summary}}  # fmt: skip
    table = markdown_table([result])
    assert "lifted the target (none) | lifted another object (none)" in table and "| 50.0 | 50.0 |" in table
