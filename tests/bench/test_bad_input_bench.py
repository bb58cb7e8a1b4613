"""Bad input at the training and evaluation boundary (issue 43): a resume that would ignore what it is asked,
another dataset, a damaged checkpoint, an evaluation that would fail after its first episodes."""

import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from grids.bench.evaluate import evaluate
from grids.bench.policy import PolicyConfig
from grids.bench.train import CheckpointError, TrainConfig, latest_checkpoint, load_policy, train
from grids.errors import UserError
from tests.conftest import write_tiny_demos

# A policy small enough to train four steps in about a second, for the 16-pixel tiny demos (corner3 camera).
MICRO = {"image_size": 16, "patch_size": 4, "dim": 16, "encoder_depth": 1, "policy_depth": 1, "num_heads": 2}


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    policy = PolicyConfig(
        **MICRO, camera="corner3", chunk_size=2, reducer=overrides.pop("reducer", "grids"), num_tokens=4
    )
    options = {"steps": 4, "batch_size": 4, "lr": 1e-3, "warmup": 1, "save_every": 2, "log_every": 2,
               "language_model": "hash", "progress": False, **overrides}  # fmt: skip
    return TrainConfig(data=str(data), out=str(out), policy=policy, **options)


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    pytest.importorskip("h5py")
    return write_tiny_demos(tmp_path_factory.mktemp("bad-input") / "demos")


@pytest.fixture(scope="module")
def trained(demos, tmp_path_factory):
    """A finished 4-step run (checkpoints at steps 2 and 4)."""
    torch.set_num_threads(1)
    return train(tiny_config(demos, tmp_path_factory.mktemp("runs") / "run"))


# --- a resume that would ignore what it is asked is refused, naming the fields -----------------------------
@pytest.mark.parametrize(
    "changed, named",
    [
        ({"steps": 8}, "steps 4 (asked 8)"),
        ({"lr": 2e-3}, "lr 0.001 (asked 0.002)"),
        ({"reducer": "uniform"}, "policy.reducer 'grids' (asked 'uniform')"),
        ({"seed": 1, "batch_size": 2}, "batch_size 4 (asked 2); seed 0 (asked 1)"),
    ],
)
def test_resuming_a_run_with_other_settings_names_every_difference(demos, trained, changed, named):
    with pytest.raises(UserError) as error:
        train(tiny_config(demos, trained, **changed))
    message = str(error.value)
    assert message.startswith(
        f"{trained} holds a run trained with other settings, which a resume would ignore"
    )
    assert named in message, message


def test_resuming_with_the_same_settings_says_there_is_nothing_to_do(demos, trained, capsys):
    before = load_file(str(latest_checkpoint(trained) / "model.safetensors"))
    train(tiny_config(demos, trained, progress=True, num_workers=0))  # free fields may differ
    assert "is already trained (4 steps): nothing to do" in capsys.readouterr().out
    after = load_file(str(latest_checkpoint(trained) / "model.safetensors"))
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    "other, named",
    [
        ({"episodes_per_task": 3}, "was trained on another dataset"),  # same tasks, other episodes
        (
            {"tasks": ("reach-v3", "push-v3")},
            "policy.tasks ['reach-v3', 'drawer-close-v3'] (asked ['reach-v3', 'push-v3'])",
        ),
    ],
)
def test_resuming_a_run_with_another_dataset_is_refused(demos, trained, tmp_path, other, named):
    other_demos = write_tiny_demos(tmp_path / "other", **other)
    with pytest.raises(UserError, match=re.escape(named)) as error:
        train(tiny_config(other_demos, trained))
    assert str(other_demos) in str(error.value)


def test_an_output_path_that_is_a_file_is_named_before_training(demos, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(
        UserError,
        match=re.escape(f"out {tmp_path / 'file' / 'run'} is under {tmp_path / 'file'}, which is a file"),
    ):
        train(tiny_config(demos, tmp_path / "file" / "run"))


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_a_training_seed_that_cannot_be_right_is_named(demos, tmp_path, seed):
    with pytest.raises(ValueError, match=re.escape(f"seed must be an int >= 0, got {seed!r}")):
        tiny_config(demos, tmp_path / "run", seed=seed)


# --- a truncated latest checkpoint ------------------------------------------------------------------------
def truncate(file: Path, keep: int = 100) -> None:
    file.write_bytes(file.read_bytes()[:keep])


@pytest.mark.parametrize("damaged_file", ["model.safetensors", "optimizer.safetensors", "state.json"])
def test_training_resumes_from_the_previous_intact_checkpoint_and_says_so(
    demos, trained, tmp_path, capsys, damaged_file
):
    torch.set_num_threads(1)
    config = tiny_config(demos, tmp_path / "run")
    train(config)
    latest = latest_checkpoint(config.out)
    assert latest.name == "step_0000004"
    truncate(latest / damaged_file)
    capsys.readouterr()
    train(config)
    out = capsys.readouterr().out
    assert f"checkpoint file {latest / damaged_file} is damaged" in out, out
    assert "resuming from the previous intact checkpoint" in out and "step_0000002 (step 2)" in out, out
    assert (latest.parent / "damaged_step_0000004").is_dir()  # set aside, kept to look at
    resumed = load_file(str(latest_checkpoint(config.out) / "model.safetensors"))
    straight = load_file(str(latest_checkpoint(trained) / "model.safetensors"))
    for key, value in straight.items():  # steps 3 and 4 redone: the same weights as without the damage
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=0, msg=key)


def test_no_intact_checkpoint_names_every_damaged_file(demos, tmp_path):
    config = tiny_config(demos, tmp_path / "run")
    train(config)
    for checkpoint in (tmp_path / "run" / "checkpoints").glob("step_*"):
        truncate(checkpoint / "model.safetensors")
    with pytest.raises(CheckpointError) as error:
        train(config)
    message = str(error.value)
    assert message.startswith(f"no intact checkpoint in {tmp_path / 'run' / 'checkpoints'}")
    assert "step_0000004/model.safetensors" in message and "step_0000002/model.safetensors" in message


@pytest.mark.parametrize("damaged_file", ["model.safetensors", "state.json"])
def test_evaluation_names_the_damaged_checkpoint_file(demos, tmp_path, damaged_file):
    config = tiny_config(demos, tmp_path / "run")
    train(config)
    latest = latest_checkpoint(config.out)
    truncate(latest / damaged_file, keep=20)
    with pytest.raises(CheckpointError) as error:
        load_policy(config.out)
    message = str(error.value)
    assert message.startswith(f"checkpoint file {latest / damaged_file} is damaged"), message
    assert str(latest.parent / "step_0000002") in message  # where to turn instead
    with pytest.raises(CheckpointError, match=re.escape(str(latest / damaged_file))):
        evaluate(config.out, ["reach-v3"], episodes=1, workers=1, progress=False)


# --- an evaluation is checked whole before its first episode ---------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"perturbations": ("none", "earthquake")}, "unknown perturbation 'earthquake'"),
        ({"perturbations": ()}, "perturbations must be a non-empty list of names"),
        ({"tasks": ["reach-v3", "transfer_cube"]}, "unknown task 'transfer_cube'"),
        ({"episodes": 0}, "episodes must be an int >= 1, got 0"),
        ({"workers": -1}, "workers must be an int >= 1, got -1"),
        ({"max_steps": 0}, "max_steps must be an int >= 1 or None, got 0"),
    ],
)
def test_an_evaluation_refuses_what_would_fail_after_its_first_episodes(tmp_path, kwargs, message):
    options = {"tasks": ["reach-v3"], "episodes": 1, "workers": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):  # the run does not even exist: checked first
        evaluate(tmp_path / "no-run", options.pop("tasks"), **options)
