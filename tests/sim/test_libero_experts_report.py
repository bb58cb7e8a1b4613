"""The experts' report (benchmarks/libero_experts.py): measuring named tasks again keeps the other tasks' numbers
and says which commit and command measured what."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("libero.libero", reason="LIBERO is installed by scripts/setup.sh (grids-vla[libero])")

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "libero_experts.py"
CURRENT = {"robot_init_noise": 0.02, "expert_version": 2}


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("libero_experts_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entry(success: float, **extra) -> dict:
    return {
        "instruction": "do it",
        "episodes": 20,
        "success_rate": success,
        "mean_steps_when_successful": 100.0,
        "max_steps": 300,
        "official_init_states": {"episodes": 10, "success_rate": success},
        **CURRENT,
        **extra,
    }


def test_named_tasks_are_measured_again_and_the_others_kept(report):
    saved = {
        "spec": "benchmarks/specs/libero_experts.toml",
        "libero_goal/4": entry(1.0),
        "libero_goal/5": entry(0.1),
        "libero_goal/6": entry(1.0, expert_version=1),  # another expert's: measured again too
    }
    kept = report.kept_entries(saved, current=CURRENT, remeasure=["libero_goal/5"])
    assert list(kept) == ["libero_goal/4"]
    assert kept["libero_goal/4"] is saved["libero_goal/4"]


def test_the_report_names_the_commit_and_command_of_a_task_measured_again(report, tmp_path):
    by = {"commit": "abc1234", "command": "python benchmarks/libero_experts.py --tasks libero_goal/5"}
    results = {"libero_goal/4": entry(1.0), "libero_goal/5": entry(0.95, measured_by=by)}
    report.write_markdown(results, tmp_path / "report.md")
    text = (tmp_path / "report.md").read_text()
    assert f"- libero_goal/5: at commit abc1234, `{by['command']}`." in text
    assert "libero_goal/4: at commit" not in text and "Below 70%" not in text


def test_provenance_names_the_command(report):
    by = report.provenance(["benchmarks/libero_experts.py", "--tasks", "libero_goal/5"])
    assert by["command"] == "python benchmarks/libero_experts.py --tasks libero_goal/5"
    assert by["commit"]
