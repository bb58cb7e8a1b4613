"""Run the adapter suites that need their own venv, from the main test run.

timm needs torchvision, and the LeRobot plugin needs LeRobot (which pins transformers < 5.6): each
lives in a venv made by a setup script. When that venv exists, its suite runs here in a subprocess and
must pass; when it does not, the test is skipped with the command that creates it. CI creates them.
timm's suite runs in ``.venv-timm`` or, if absent, in ``.venv-lerobot`` once timm was added to it
(``VENV=.venv-lerobot bash scripts/setup_timm_env.sh``, which saves a second torch install).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = {
    # name: (candidate venvs with the stamp their setup script writes last, setup script, test path)
    "timm": (
        [(".venv-timm", ".grids-timm-ready"), (".venv-lerobot", ".grids-timm-ready")],
        "scripts/setup_timm_env.sh",
        "tests/adapters/test_timm.py",
    ),
    "lerobot": (
        [(".venv-lerobot", ".grids-lerobot-ready")],
        "scripts/setup_lerobot_env.sh",
        "plugins/lerobot_policy_grids/tests",
    ),
}


@pytest.mark.parametrize("suite", list(SUITES))
def test_suite_in_its_venv(suite):
    candidates, script, tests = SUITES[suite]
    ready = [venv for venv, stamp in candidates if (ROOT / venv / stamp).is_file()]
    if not ready:
        if os.environ.get("CI"):  # CI creates these venvs (.ci/run): a missing one is a failure there
            pytest.fail(f"{candidates[0][0]} absent in CI: `bash {script}` did not run or failed")
        pytest.skip(f"{candidates[0][0]} absent: create it with `bash {script}` to run {tests}")
    venv = ready[0]
    if Path(sys.prefix).resolve() == (ROOT / venv).resolve():
        pytest.skip(f"already in {venv}: run {tests} directly")
    python = ROOT / venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"{suite} suite in {venv}: {summary[0]}")
    assert result.returncode == 0, (
        f"{tests} failed in {venv}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
