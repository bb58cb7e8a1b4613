import importlib.util
import json

import pytest

from grids.cli.main import main


def test_info_verify_passes_on_an_intact_dataset(tiny_demos, capsys):
    assert main(["data", "info", str(tiny_demos), "--verify", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 4 and summary["verified_sha256"]


def test_info_verify_lists_every_damaged_shard(tiny_demos, capsys):
    manifest = json.loads((tiny_demos / "manifest.json").read_text())
    first, last = (tiny_demos / manifest["episodes"][i]["file"] for i in (0, 3))
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the sha256 check sees it
    first.write_bytes(bytes(data))
    last.unlink()
    assert main(["data", "info", str(tiny_demos), "--verify"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert lines[0] == f"grids: error: 2 of 4 shard(s) in {tiny_demos} are damaged:"
    assert lines[1] == f"  shard {first} is corrupted: sha256 does not match the manifest"
    assert lines[2] == f"  shard {last} listed in the manifest is missing"
    assert "re-running the command that generated the dataset regenerates exactly these" in lines[3]
    assert lines[4].startswith(
        f"  grids data generate --tasks reach-v3,drawer-close-v3 --episodes-per-task 2 --out {tiny_demos}"
    )


def test_export_to_lerobot_outside_its_venv_says_how_to_get_it(tiny_demos, tmp_path, capsys):
    if importlib.util.find_spec("lerobot") is not None:
        pytest.skip("LeRobot is installed here: plugins/lerobot_policy_grids/tests/test_export.py exports")
    out = tmp_path / "lerobot"
    assert main(["data", "export", str(tiny_demos), "--to-lerobot", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "grids: error: needs LeRobot: bash scripts/setup_lerobot_env.sh, "
        "then run with .venv-lerobot/bin/grids ...\n"
    )
    assert not out.exists()
