import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from grids.sim import DemoDataset, generate_demos, make_env
from grids.sim.dataset import MANIFEST, ShardError
from grids.sim.rollout import rollout_expert

TASKS = ["reach-v3", "button-press-topdown-v3"]
SIZE = 32
REPO = Path(__file__).resolve().parents[2]


def content(root: Path) -> list[dict]:
    """The manifest's episode entries without the informational timing field."""
    episodes = json.loads((root / MANIFEST).read_text())["episodes"]
    return [{k: v for k, v in e.items() if k != "seconds"} for e in episodes]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return generate_demos(
        TASKS, 1, tmp_path_factory.mktemp("ref") / "ds", image_size=SIZE, workers=1, progress=False
    )


def test_round_trip_is_exact(reference):
    ds = DemoDataset(reference, verify="sha256")
    assert ds.num_episodes == 2 and ds.tasks == TASKS and ds.image_size == SIZE and ds.meta["complete"]
    assert ds.num_frames == sum(e["num_frames"] for e in ds.episodes) == len(ds)
    # Replay the recorded seed in a fresh env: what was written is exactly what the simulator produced.
    entry = ds.episodes[1]
    env = make_env(entry["task"], image_size=SIZE)
    replay = rollout_expert(env, entry["seed"])
    env.close()
    stored = ds.episode(1)
    assert set(replay) == set(stored)
    for key in replay:
        assert stored[key].dtype == replay[key].dtype
        np.testing.assert_array_equal(stored[key], replay[key], err_msg=key)
    assert stored["success"][-1] and not stored["success"][:-1].any()
    # Items agree with the episode arrays.
    start = ds.episodes[0]["num_frames"]
    item = ds[start + 5]
    np.testing.assert_array_equal(item["images"].numpy(), replay["images"][5])
    np.testing.assert_array_equal(item["state"].numpy(), replay["state"][5])
    assert int(item["episode_index"]) == 1 and int(item["frame_index"]) == 5
    assert int(item["task_index"]) == TASKS.index(entry["task"])


def test_item_schema_and_action_chunk_padding(reference):
    ds = DemoDataset(reference, chunk_size=8)
    actions = ds.episode(0)["actions"]
    last = ds[ds.episodes[0]["num_frames"] - 3]  # 3 real actions, then 5 pads
    assert last["images"].shape == (2, SIZE, SIZE, 3) and last["images"].dtype == torch.uint8
    assert last["state"].shape == (4,) and last["state"].dtype == torch.float32
    assert last["actions"].shape == (8, 4) and last["actions"].dtype == torch.float32
    assert last["action_is_pad"].tolist() == [False] * 3 + [True] * 5
    np.testing.assert_array_equal(last["actions"][:3].numpy(), actions[-3:])
    np.testing.assert_array_equal(last["actions"][3:].numpy(), np.repeat(actions[-1:], 5, axis=0))
    for key in ("task_index", "episode_index", "frame_index"):
        assert last[key].dtype == torch.int64 and last[key].shape == ()
    low_dim = ds.low_dim()
    assert low_dim["state"].shape == low_dim["actions"].shape == (ds.num_frames, 4)
    assert len(ds.instructions) == len(ds.tasks)
    frames = ds.low_dim_frames()  # every item but its images, stacked: what a feature cache keeps beside them
    assert set(frames) == set(last) - {"images"} and frames["actions"].shape == (ds.num_frames, 8, 4)
    for i in (0, ds.episodes[0]["num_frames"] - 3, ds.num_frames - 1):
        for key, value in frames.items():
            torch.testing.assert_close(value[i], ds[i][key], rtol=0, atol=0, msg=key)


def test_dataloader_workers(reference):
    """Two workers, forked after the parent opened a shard, yield every frame once, in order, as stored."""
    import h5py

    ds = DemoDataset(reference, chunk_size=2)
    first = ds[0]["images"]  # the parent holds an open handle when the workers fork
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=False, num_workers=2)
    batches = list(loader)
    loaded = {key: torch.cat([batch[key] for batch in batches]) for key in batches[0]}
    assert loaded["images"].shape == (ds.num_frames, 2, SIZE, SIZE, 3)
    stored = {"images": [], "state": [], "episode_index": [], "frame_index": []}
    for index, entry in enumerate(ds.episodes):  # read the shards directly, not through the dataset
        with h5py.File(reference / entry["file"], "r") as f:
            stored["images"].append(f["images"][:])
            stored["state"].append(f["state"][:])
        stored["episode_index"].append(np.full(entry["num_frames"], index))
        stored["frame_index"].append(np.arange(entry["num_frames"]))
    for key, arrays in stored.items():
        np.testing.assert_array_equal(loaded[key].numpy(), np.concatenate(arrays), err_msg=key)
    assert torch.equal(loaded["images"][0], first)


def test_resume_after_simulated_crash_gives_the_same_dataset(reference, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    manifest = json.loads((out / MANIFEST).read_text())
    dropped = manifest["episodes"].pop()  # shard written, manifest not yet updated
    shard = out / manifest["episodes"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:1000])  # listed but truncated
    half = out / (dropped["file"] + ".tmp-12345")
    half.write_bytes(b"half a shard")  # a worker killed mid-write
    (out / MANIFEST).write_text(json.dumps(manifest))
    generate_demos(TASKS, 1, out, image_size=SIZE, workers=1, progress=False)
    assert content(out) == content(reference)
    assert not half.exists()
    DemoDataset(out, verify="sha256")


def test_killed_run_resumes_to_the_same_dataset(reference, tmp_path):
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "grids.cli.main", "data", "generate", "--tasks", ",".join(TASKS),
           "--episodes-per-task", "1", "--out", str(out), "--image-size", str(SIZE), "--workers", "1", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / MANIFEST).exists() and json.loads((out / MANIFEST).read_text())["episodes"]:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "generation finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = json.loads((out / MANIFEST).read_text())
    assert len(partial["episodes"]) == 1 and not partial["complete"]
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert content(out) == content(reference)


def test_truncated_shard_is_detected(reference, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    shard = out / content(out)[1]["file"]
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(ShardError, match=str(shard)):
        DemoDataset(out)


def test_corrupted_shard_is_detected(reference, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    shard = out / content(out)[0]["file"]
    data = bytearray(shard.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(255 - b for b in data[middle : middle + 64])  # same size, other bytes
    shard.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=str(shard)):
        DemoDataset(out, verify="sha256")
    ds = DemoDataset(out)  # sizes match, so only the HDF5 chunk checksums can tell
    with pytest.raises(ShardError, match=str(shard)):
        for index in range(len(ds)):
            ds[index]


def test_mismatched_resume_is_refused(reference, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    with pytest.raises(ValueError, match="image_size"):
        generate_demos(TASKS, 1, out, image_size=SIZE * 2, workers=1, progress=False)


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        DemoDataset(tmp_path)


def damage(root: Path) -> dict[str, Path]:
    """Damage three of the four shards three ways; return them by kind."""
    files = [root / e["file"] for e in content(root)]
    files[0].write_bytes(files[0].read_bytes()[:-100])  # truncated
    data = bytearray(files[1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    files[1].write_bytes(bytes(data))
    files[3].unlink()  # missing
    return {"truncated": files[0], "corrupted": files[1], "missing": files[3]}


def test_opening_lists_every_damaged_shard_and_the_command_that_regenerates_them(tiny_demos):
    bad = damage(tiny_demos)
    with pytest.raises(ShardError) as error:
        DemoDataset(tiny_demos, verify="sha256")
    message = str(error.value)
    assert message.startswith(f"3 of 4 shard(s) in {tiny_demos} are damaged:")
    assert f"shard {bad['truncated']} is truncated or modified" in message
    assert f"shard {bad['corrupted']} is corrupted: sha256 does not match the manifest" in message
    assert f"shard {bad['missing']} listed in the manifest is missing" in message
    command = (
        f"grids data generate --tasks reach-v3,drawer-close-v3 --episodes-per-task 2 --out {tiny_demos} "
        "--image-size 16 --seed 0"
    )
    assert message.endswith(
        "re-running the command that generated the dataset regenerates exactly these "
        f"(intact shards are kept):\n  {command}"
    )


def test_size_check_lists_every_shard_it_can_see_is_damaged(tiny_demos):
    bad = damage(tiny_demos)
    with pytest.raises(ShardError, match="2 of 4 shard") as error:
        DemoDataset(tiny_demos)  # the flipped byte keeps the size: only sha256 sees it
    assert str(bad["truncated"]) in str(error.value) and str(bad["missing"]) in str(error.value)
    assert str(bad["corrupted"]) not in str(error.value)


def test_verify_lists_every_damaged_shard(tiny_demos):
    ds = DemoDataset(tiny_demos)
    ds.verify()  # intact: no error
    bad = damage(tiny_demos)
    with pytest.raises(ShardError, match="3 of 4 shard") as error:
        ds.verify()
    assert all(str(path) in str(error.value) for path in bad.values())


def test_the_printed_command_regenerates_the_damaged_shards(reference, tmp_path):
    from grids.cli.main import main

    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    shard = out / content(out)[0]["file"]
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(ShardError) as error:
        DemoDataset(out, verify="sha256")
    command = str(error.value).splitlines()[-1].strip()
    assert command.startswith("grids data generate ")
    assert main([*shlex.split(command)[1:], "--workers", "1", "--no-progress"]) == 0
    assert content(out) == content(reference)
