"""grids.bench.openloop: the open-loop action error of a policy on a dataset's frames."""

import json

import pytest
import torch

from grids.bench.openloop import _summary, action_error, task_map
from grids.bench.policy import Policy, PolicyConfig
from grids.errors import UserError
from tests.bench.test_bench import MICRO, FakeDemos


def _policy(tasks: list[str], chunk_size: int = 4) -> Policy:
    torch.manual_seed(0)
    return Policy(PolicyConfig(reducer="grids", num_tokens=4, chunk_size=chunk_size, tasks=tasks, **MICRO)).eval()


def test_summary_averages_valid_steps_and_the_executed_ones_apart():
    error = torch.zeros(2, 4, 2)  # [N, chunk, A]
    error[0, :2] = 1.0  # frame 0: executed steps off by 1
    error[0, 2:] = 3.0  # frame 0: the rest off by 3
    error[1, :, 1] = 4.0  # frame 1: the second dimension off by 4 everywhere (mean over A: 2)
    valid = torch.tensor([[True] * 4, [True, True, True, False]])  # frame 1's last step is padding
    error[1, 3] = 100.0  # padding never counts
    out = _summary(error=error, valid=valid, tasks=torch.tensor([0, 1]), names=["a", "b"], executed=2)
    assert out["l1_executed"] == pytest.approx((1 + 1 + 2 + 2) / 4)
    assert out["l1"] == pytest.approx((1 + 1 + 3 + 3 + 2 + 2 + 2) / 7)
    assert out["per_task"] == pytest.approx({"a": 1.0, "b": 2.0})  # each task its own frames
    assert out["l1_per_dim"] == pytest.approx([0.5, 2.5])  # first 2 steps: dim 0 (1, 1, 0, 0), dim 1 (1, 1, 4, 4)
    assert out["frames"] == 2 and out["executed"] == 2


def test_a_policy_predicting_the_demonstrations_has_no_error_and_an_offset_is_measured_in_env_units(monkeypatch):
    data = FakeDemos(chunk_size=4)
    policy = _policy(data.tasks)
    monkeypatch.setattr(policy, "predict", lambda batch: (batch["actions"].float(), None))
    exact = action_error(policy, data, frames=10)
    assert exact["l1"] == 0 and exact["l1_executed"] == 0 and exact["frames"] == 10
    monkeypatch.setattr(policy, "predict", lambda batch: (batch["actions"].float() + 0.25, None))
    shifted = action_error(policy, data, frames=len(data) + 5)  # more than there are: every frame once
    assert shifted["frames"] == len(data)
    assert shifted["l1"] == pytest.approx(0.25) and set(shifted["per_task"]) == set(data.tasks)


def test_the_dataset_s_tasks_are_given_the_policy_s_indices(monkeypatch):
    data = FakeDemos(chunk_size=4)
    policy = _policy(list(reversed(data.tasks)))
    seen = []
    monkeypatch.setattr(policy, "predict", lambda batch: (seen.append(batch["task_index"]) or batch["actions"], None))
    action_error(policy, data, frames=len(data))
    assert task_map(policy_tasks=policy.cfg.tasks, dataset_tasks=data.tasks).tolist() == [1, 0]
    demonstrated = torch.tensor([data[i]["task_index"] for i in range(len(data))])
    assert torch.equal(torch.cat(seen), 1 - demonstrated)


def test_a_real_policy_gives_a_positive_error_the_same_for_the_same_seed():
    data = FakeDemos(chunk_size=4)
    policy = _policy(data.tasks)
    first = action_error(policy, data, frames=8, seed=3)
    assert first["l1"] > 0 and first == action_error(policy, data, frames=8, seed=3)


def test_bad_input_names_the_task_the_chunk_the_executed_steps_or_the_frames():
    data = FakeDemos(chunk_size=4)
    with pytest.raises(UserError, match="not trained on: drawer-close-v3"):
        action_error(_policy(["reach-v3"]), data)
    with pytest.raises(UserError, match="chunks are 4 actions, the policy's 8"):
        action_error(_policy(data.tasks, chunk_size=8), data)
    with pytest.raises(ValueError, match=r"execute_steps must be an int in 1..4 \(the policy's chunk\), got 5"):
        action_error(_policy(data.tasks), data, executed=5)
    with pytest.raises(ValueError, match="frames must be an int >= 1, got 0"):
        action_error(_policy(data.tasks), data, frames=0)


def test_the_command_writes_each_run_s_error(tmp_path, capsys):
    pytest.importorskip("h5py")
    from grids.bench.train import train
    from grids.cli.main import main
    from tests.bench.test_bad_input_bench import tiny_config
    from tests.conftest import write_tiny_demos

    torch.set_num_threads(1)
    demos = write_tiny_demos(tmp_path / "demos")
    run = train(tiny_config(demos, tmp_path / "run"))
    out = tmp_path / "error.json"
    assert main(["bench", "action-error", "--run", str(run), "--data", str(demos), "--json", str(out)]) == 0
    result = json.loads(out.read_text())[str(run)]
    assert result["frames"] == 12 and result["l1"] > 0
    assert f"{run}: L1 {result['l1']:.4f}" in capsys.readouterr().out
    missing = tmp_path / "no-data"
    assert main(["bench", "action-error", "--run", str(run), "--data", str(missing)]) == 2
    assert f"no manifest.json in {missing}" in capsys.readouterr().err
