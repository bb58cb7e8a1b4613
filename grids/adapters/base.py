"""What every adapter shares: a host model it wraps (never copies), a reducer, and saving both.

An adapter owns two children, ``host`` (the unmodified vision model, so ``adapter.host`` is the very
object you passed in) and ``reducer`` (a registered :class:`~grids.TokenReducer`). Its state dict is
therefore ``host.*`` + ``reducer.*`` and round-trips through ``safetensors.torch.save_model``.

``save_pretrained(directory)`` writes the host in its own ecosystem's format (a Hugging Face
checkpoint folder, or timm's ``model.safetensors``), so the folder still loads without GridS, plus

    grids_adapter.json          # reducer name, num_tokens, resample_at_layer, reducer options
    grids_reducer.safetensors   # the reducer's weights (absent keys for parameter-free reducers)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from grids.core import TokenReducer, make_reducer

ADAPTER_CONFIG = "grids_adapter.json"
REDUCER_WEIGHTS = "grids_reducer.safetensors"


@dataclass
class AdapterSpec:
    """Everything needed to rebuild an adapter's reducer (the host is saved separately).

    ``resample_at_layer`` says where the tokens are reduced (:func:`grids.core.check_resample_at_layer`):
    ``None``, the encoder's output, or an int ``L``: inside the encoder, before block ``L``, so the
    remaining blocks run on K tokens. ``project_first`` is PaliGemma's (:class:`GridSImageFeatures`).
    """

    reducer: str = "grids"
    num_tokens: int = 16
    resample_at_layer: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    project_first: bool | None = None

    def build(self, dim: int, num_prefix_tokens: int = 0) -> TokenReducer:
        return make_reducer(
            self.reducer,
            dim=dim,
            num_tokens=self.num_tokens,
            num_prefix_tokens=num_prefix_tokens,
            **self.options,
        )


class ReducingAdapter(nn.Module):
    """Base class: ``host`` + ``reducer`` + ``spec``; subclasses define ``forward`` and host saving."""

    def __init__(self, host: nn.Module, reducer: TokenReducer, spec: AdapterSpec):
        super().__init__()
        self.host = host  # the caller's module itself: no copy, weights shared
        self.reducer = reducer
        self.spec = spec

    # -- saving ---------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_host(directory)
        (directory / ADAPTER_CONFIG).write_text(json.dumps(asdict(self.spec), indent=2) + "\n")
        state = {k: v.detach().contiguous() for k, v in self.reducer.state_dict().items()}
        save_file(state, directory / REDUCER_WEIGHTS)
        return directory

    def _save_host(self, directory: Path) -> None:
        raise NotImplementedError

    @staticmethod
    def read_spec(directory: str | Path) -> AdapterSpec:
        path = Path(directory) / ADAPTER_CONFIG
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: not a folder written by save_pretrained")
        return AdapterSpec(**json.loads(path.read_text()))

    def load_reducer_weights(self, directory: str | Path) -> None:
        from safetensors.torch import load_file

        state = load_file(Path(directory) / REDUCER_WEIGHTS)
        self.reducer.load_state_dict(state, strict=True)

    def extra_repr(self) -> str:
        return f"resample_at_layer={self.spec.resample_at_layer!r}"
