"""Frozen-encoder protocol: the dense feature maps of a trained encoder, cached once on disk.

Every reducer then trains only its head (reducer + policy transformer + action head) on the cache,
which is what makes a full comparison affordable on a CPU (the paper's SmolVLA setting: frozen vision
encoder). Layout of a cache directory::

    features.npy   float16 [N, V, H*W, C]   encoder output (ViT: after its final LayerNorm), memory-mapped
    lowdim.npz     state [N, 4], actions [N, chunk, 4], action_is_pad [N, chunk], task_index [N]
    meta.json      encoder (name, checkpoint), camera, chunk size, shapes, the pixel corruption if any, the
                   trainable top the cache stops before (``encoder_top``) if any (written last: marks a complete cache)

A cache of corrupted frames (``corrupt``: a pixel-level perturbation such as sensor noise, frame i drawn from
``seed`` and i) is a training augmentation: ``CorruptedCopies`` indexes it beside the clean cache.

While it is written the cache lives in ``<dir>.tmp`` with ``progress.json``: an interrupted run resumes there.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

LOWDIM_KEYS = ("state", "actions", "action_is_pad", "task_index")


@torch.no_grad()
def cache_features(
    policy, dataset, out_dir: str | Path, *, batch_size: int = 64, source: str = "", progress: bool = True,
    flush_every: int = 20, corrupt=None, seed: int = 0,
) -> Path:
    """Run ``policy``'s encoder over every frame of ``dataset`` (a ``DemoDataset``) and write the cache.

    ``corrupt``: a pixel-level ``grids.sim.perturbations.Perturbation`` (e.g. ``PERTURBATIONS["noise"]``) applied
    to every frame before the encoder, frame i with its own generator ``(seed, i)`` (independent of batching).

    Resumable: the arrays are memory maps in ``<out>.tmp`` and ``progress.json`` there records how many frames
    are on disk (every ``flush_every`` batches); a rerun with the same dataset and encoder continues from there.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    if (out / "meta.json").is_file():
        return out
    tmp = out.with_name(out.name + ".tmp")
    policy.eval()
    cfg = policy.cfg
    n, views, patches = len(dataset), cfg.num_views, cfg.grid_hw[0] * cfg.grid_hw[1]
    width = getattr(policy.encoder, "trunk_dim", cfg.dim)  # the frozen part's output (ViT: its width)
    if corrupt is not None and not corrupt.pixel_level:
        raise ValueError(f"perturbation {corrupt.name!r} changes the scene, not the pixels: it cannot corrupt recorded frames")
    corruption = None if corrupt is None else {"perturbation": corrupt.name, "seed": seed}
    top = cfg.encoder_top or None  # the trainable blocks the cache stops before (None: the whole encoder)
    job = {"dataset": str(dataset.root), "encoder": cfg.encoder, "shape": [n, views, patches, width],
           "corruption": corruption, "encoder_top": top}  # fmt: skip
    start = _resume_point(tmp, job)
    arrays = _open_arrays(tmp, job, resume=start > 0)
    loader = DataLoader(torch.utils.data.Subset(dataset, range(start, n)), batch_size=batch_size, shuffle=False)
    bar = tqdm(loader, desc="caching features", disable=not progress, initial=start // batch_size,
               total=-(-n // batch_size))
    for i, batch in enumerate(bar, 1):
        images = batch["images"] if corrupt is None else _corrupted(batch["images"], corrupt, seed, start)
        dense = policy.cached_features(images)  # [B, V, N, C]
        stop = start + len(dense)
        arrays["features"][start:stop] = dense.numpy().astype(np.float16)
        for key in LOWDIM_KEYS:
            arrays[key] = _lowdim_array(tmp, key, arrays.get(key), batch[key].numpy(), n, start)
        start = stop
        if i % flush_every == 0 or start == n:
            _flush(tmp, arrays, {**job, "frames": start})
    meta = {
        "source": source,
        "encoder": cfg.encoder,
        "dataset": str(dataset.root),
        "camera": dataset.camera_names[0],
        "num_frames": n,
        "chunk_size": dataset.chunk_size,
        "shape": [n, views, patches, width],
        "corruption": corruption,
        **({"encoder_top": top} if top else {}),
    }
    _finish(tmp, out, arrays, meta)
    return out


def _finish(tmp: Path, out: Path, arrays: dict, meta: dict) -> None:
    """Every frame is on disk in ``tmp``: the low-dim arrays into one file, ``meta.json``, then ``tmp`` -> ``out``."""
    np.savez(tmp / "lowdim.npz", **{key: np.asarray(arrays[key]) for key in LOWDIM_KEYS})
    arrays.clear()  # the memory maps close before their files go
    for key in LOWDIM_KEYS:
        (tmp / f"lowdim_{key}.npy").unlink()
    (tmp / "progress.json").unlink()
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def _corrupted(images: torch.Tensor, corrupt, seed: int, start: int) -> torch.Tensor:
    """``images`` (uint8 [B, V, S, S, 3], frames ``start``...) through ``corrupt``, frame i with generator (seed, i)."""
    frames = [corrupt.corrupt(f.numpy(), np.random.default_rng([seed, start + i])) for i, f in enumerate(images)]
    return torch.from_numpy(np.stack(frames))


def _resume_point(tmp: Path, job: dict) -> int:
    """Frames already cached in ``tmp`` for this very job, else 0 (and ``tmp`` is emptied)."""
    progress = tmp / "progress.json"
    if progress.is_file():
        done = json.loads(progress.read_text())
        if {k: done.get(k) for k in job} == job:
            return int(done["frames"])
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return 0


def _open_arrays(tmp: Path, job: dict, *, resume: bool) -> dict:
    mode = "r+" if resume else "w+"
    arrays = {"features": np.lib.format.open_memmap(tmp / "features.npy", mode=mode, dtype=np.float16,
                                                    shape=None if resume else tuple(job["shape"]))}
    if resume:
        arrays |= {key: np.load(tmp / f"lowdim_{key}.npy", mmap_mode="r+") for key in LOWDIM_KEYS}
    return arrays


def _lowdim_array(tmp: Path, key: str, array, rows: np.ndarray, n: int, start: int):
    """Write ``rows`` at ``start`` into the memory map of ``key`` (created at the first batch: [n, *rows.shape[1:]])."""
    if array is None:
        array = np.lib.format.open_memmap(tmp / f"lowdim_{key}.npy", mode="w+", dtype=rows.dtype,
                                          shape=(n, *rows.shape[1:]))
    array[start : start + len(rows)] = rows
    return array


def _flush(tmp: Path, arrays: dict, progress: dict) -> None:
    for array in arrays.values():
        array.flush()
    (tmp / "progress.json.part").write_text(json.dumps(progress))
    os.replace(tmp / "progress.json.part", tmp / "progress.json")


class FeatureDataset(Dataset):
    """Frames of a feature cache with the same keys as ``DemoDataset`` items (``features`` instead of ``images``).

    item = {"features": float32 [V, H*W, C], "state": [4], "actions": [chunk, 4], "action_is_pad": [chunk],
    "task_index": []}; the trainer batches it with the same ``DataLoader`` and sampler as the images.
    """

    def __init__(self, path: str | Path):
        self.root = Path(path)
        if not (self.root / "meta.json").is_file():
            raise FileNotFoundError(f"{self.root} is not a complete feature cache (no meta.json)")
        self.meta = json.loads((self.root / "meta.json").read_text())
        self.features = np.load(self.root / "features.npy", mmap_mode="r")
        with np.load(self.root / "lowdim.npz") as f:
            self.lowdim = {key: torch.from_numpy(f[key]) for key in f.files}
        self.chunk_size = int(self.meta["chunk_size"])

    def rechunk(self, dataset) -> FeatureDataset:
        """Take the low-dim keys from ``dataset`` (the ``DemoDataset`` the cache was built from, in its frame order)
        at the dataset's chunk size: one cache serves policies of any action-chunk length."""
        if len(dataset) != len(self):
            raise ValueError(f"feature cache {self.root} has {len(self)} frames, the dataset {len(dataset)}")
        frames = dataset.low_dim_frames()
        self.lowdim = {key: frames[key] for key in self.lowdim}
        self.chunk_size = dataset.chunk_size
        return self

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, torch.Tensor]]:
        """A whole batch from one sorted read of the memory map (the DataLoader calls this, not
        ``__getitem__``, per batch): on a cold page cache ~10x faster than a read per frame."""
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices)
        rows = np.empty((len(indices), *self.features.shape[1:]), dtype=np.float16)
        rows[order] = self.features[indices[order]]
        features = torch.from_numpy(rows).float()
        return [
            {**{key: value[int(i)] for key, value in self.lowdim.items()}, "features": features[j]}
            for j, i in enumerate(indices)
        ]

    def get_batch(self, indices) -> dict[str, torch.Tensor]:
        """The frames ``indices`` stacked, as a ``DataLoader`` over this dataset gives them."""
        return default_collate(self.__getitems__(list(indices)))

    def __getstate__(self):  # DataLoader workers (spawn) reopen the memory map rather than copy it
        return {**self.__dict__, "features": None}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.features = np.load(self.root / "features.npy", mmap_mode="r")


class CorruptedCopies(Dataset):
    """A clean feature cache and caches of the same frames through a pixel corruption, one after the other:
    index ``i + k * N`` is frame i of copy k (k = 0: the clean cache). The trainer's batch plan picks the copy
    (``_BatchPlan``: each frame of a batch is corrupted with probability ``corrupted_p``)."""

    def __init__(self, clean: FeatureDataset, corrupted: list[FeatureDataset]):
        for copy in corrupted:
            if len(copy) != len(clean) or copy.meta.get("encoder") != clean.meta.get("encoder"):
                raise ValueError(f"feature cache {copy.root} is not a copy of {clean.root}: "
                                 f"{len(copy)} vs {len(clean)} frames, encoder {copy.meta.get('encoder')!r}")  # fmt: skip
            if not copy.meta.get("corruption"):
                raise ValueError(f"feature cache {copy.root} holds clean frames (cache-features --perturbation)")
        self.copies = [clean, *corrupted]

    @property
    def chunk_size(self) -> int:
        return self.copies[0].chunk_size

    def rechunk(self, dataset) -> CorruptedCopies:
        for copy in self.copies:
            copy.rechunk(dataset)
        return self

    def __len__(self) -> int:
        return len(self.copies[0]) * len(self.copies)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, torch.Tensor]]:
        n, items = len(self.copies[0]), [None] * len(indices)
        for k, copy in enumerate(self.copies):
            slots = [j for j, i in enumerate(indices) if i // n == k]
            if slots:
                for j, item in zip(slots, copy.__getitems__([indices[j] - k * n for j in slots]), strict=True):
                    items[j] = item
        return items
