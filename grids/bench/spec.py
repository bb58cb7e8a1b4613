"""Experiment specs: one TOML file per published table, parsed into typed dataclasses and validated.

A spec says everything a table needs: the suite and tasks, the data, the training protocol, the rows (reducer,
tokens, options, training seeds), the evaluations (which rows, perturbations, episodes, step limit) and the
report (reference row, paired comparisons, figures). ``grids bench run SPEC`` makes whatever is missing
(``grids.bench.runner``). Every error names the field and the allowed values, before any work starts::

    spec = load_spec("benchmarks/specs/metaworld_mt10_ep50.toml")
    spec.rows[0].name, spec.protocol.steps, spec.evaluations[0].episodes

A spec of ``kind = "script"`` is a table made by a benchmark script (efficiency, experts, ...): its
``[script]`` names the command and the files it writes. The format, field by field: ``docs/experiments.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from grids.errors import UserError

ENCODERS = ("mobilenetv2",)  # our ViT trains end to end: `grids bench train --encoder vit`
PRESETS = ("tiny", "small", "base")
STARTS = ("official", "fresh")
KINDS = ("grid", "script")


class SpecError(UserError, ValueError):
    """A spec that cannot run: the message names the file, the field and what is allowed."""


@dataclass(frozen=True)
class Data:
    """The demonstrations: ``episodes_per_task`` expert episodes per task, generated into ``path``."""

    path: str
    episodes_per_task: int = 50
    image_size: int = 128
    camera: str | None = None  # MetaWorld's third-person camera (workspace, corner3); LIBERO / ALOHA: their own
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True)
class Protocol:
    """How every row is trained (a row may override any field in its own ``protocol`` table)."""

    encoder: str = "mobilenetv2"  # frozen pretrained features, cached once; every row a head on them
    features: str | None = None  # the feature cache (default: <root>/features)
    preset: str = "tiny"
    steps: int = 10000
    batch_size: int = 32
    lr: float = 1e-3
    ema: float = 0.0
    chunk_size: int = 8
    action_head: str = "l1"
    feature_shift: float = 0.5  # random-shift augmentation of the dense maps, in cells
    save_every: int = 500
    keep_every: int | None = None
    threads: int = 2
    language_model: str = "minilm"
    policy: dict = field(default_factory=dict)  # further PolicyConfig fields (tests: image_size, patch_size)


@dataclass(frozen=True)
class Row:
    """One line of the table: a reducer at ``tokens`` per view, trained at each of ``seeds``."""

    name: str
    reducer: str
    tokens: int
    seeds: tuple[int, ...]
    options: dict = field(default_factory=dict)  # reducer options
    task_aware: bool = False  # the instruction embedding is the reducer's context
    coord_embedding: bool = True  # false: no embedding of the coordinates (options.coord_embedding = None)
    seed_option: bool = False  # the reducer's own draw follows the training seed (options.seed = seed: random)
    label: str | None = None  # the plot's line (default: the reducer)
    protocol: dict = field(default_factory=dict)  # this row's overrides of [protocol] fields


@dataclass(frozen=True)
class Evaluation:
    """Closed-loop evaluation of ``rows`` (default every row) at their ``seeds`` (default every seed)."""

    episodes: int
    rows: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    perturbations: tuple[str, ...] = ("none",)
    max_steps: int | None = None  # None: the suite's own limit
    starts: str = "official"  # LIBERO: official init states or fresh placements
    execute_steps: int | None = None  # actions run per predicted chunk; None: half the chunk (LIBERO: openpi's 5)
    workers: int = 2


@dataclass(frozen=True)
class Archived:
    """Rows kept from an earlier report: their runs are gone. A row of the spec whose run is on disk replaces its
    archived twin; the report marks every archived row with ``reason`` and ``commit``."""

    report: str  # a committed JSON holding the rows (benchmarks/results/archive/...)
    commit: str  # the commit the rows were measured at
    reason: str
    rows: tuple[str, ...] = ()  # the rows kept, by name with seed suffix ("dense (seed 1)"); empty: every row


@dataclass(frozen=True)
class Points:
    """A figure of where a row's points look (one closed-loop episode per task) and their statistics."""

    row: str
    seed: int = 0
    perturbation: str = "none"
    file: str | None = None  # default: <results>/<points_prefix>_points_<row>.png
    at_steps: tuple[int, ...] = (0, 25, 50)
    frames: int = 512  # dataset frames for the statistics and the retention map


@dataclass(frozen=True)
class Report:
    reference: str | None = None  # the row every other is compared with (default: the first row)
    pairs: tuple[tuple[str, str], ...] = ()  # further (row, reference) paired comparisons
    points: tuple[Points, ...] = ()  # figures of where the points look
    points_prefix: str | None = None  # figure file prefix (default: the report's name)
    gif: str | None = None  # a row (seed 0) whose first in-distribution episode becomes a GIF
    notes: str = ""


@dataclass(frozen=True)
class Script:
    command: tuple[str, ...]
    outputs: tuple[str, ...]  # the files it writes (JSON ones get the spec recorded in them)
    minutes: float = 10.0  # its measured duration, for --dry-run


@dataclass(frozen=True)
class Spec:
    path: str
    sha256: str
    name: str  # the report: benchmarks/results/<name>.{md,json,png}
    title: str = ""
    kind: str = "grid"
    tasks: str = ""  # a task set, suite or comma-separated task names (grids.sim.resolve_tasks)
    root: str = ""  # run directories <root>/<row>-s<seed>
    results: str = "benchmarks/results"
    data: Data | None = None
    protocol: Protocol = field(default_factory=Protocol)
    rows: tuple[Row, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    archived: tuple[Archived, ...] = ()
    report: Report = field(default_factory=Report)
    script: Script | None = None

    @property
    def report_prefix(self) -> Path:
        return Path(self.results) / self.name

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    def row_protocol(self, row: Row) -> Protocol:
        return _build(Protocol, {**_asdict(self.protocol), **row.protocol}, f"rows.{row.name}.protocol")


# --- parsing ------------------------------------------------------------------------------------------
def load_spec(path: str | Path) -> Spec:
    """Read, type-check and validate a spec; raises ``SpecError`` naming the field."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file")
    raw = path.read_bytes()
    try:
        table = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: not valid TOML ({err})") from err
    table.setdefault("name", path.stem)
    try:
        spec = _build(Spec, {**table, "path": str(path), "sha256": hashlib.sha256(raw).hexdigest()}, "")
        validate(spec)
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None
    return spec


def _asdict(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _build(cls, table, where: str):
    """``cls(**table)`` with every key known and every value of its field's type; errors name ``where.key``."""
    if not isinstance(table, dict):
        raise SpecError(f"{where or 'spec'}: must be a table, got {table!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SpecError(f"{_at(where, unknown[0])}: unknown key; allowed: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in known.items():
        if name in table:
            values[name] = _typed(table[name], hints[name], _at(where, name))
        elif f.default is MISSING and f.default_factory is MISSING:
            raise SpecError(f"{_at(where, name)}: missing (required)")
    return cls(**values)


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _typed(value, hint, where: str):
    """``value`` checked against ``hint`` (int, float, str, bool, dict, tuples, Optional, dataclasses)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None and type(None) in args:
            return None
        return _typed(value, inner[0], where) if len(inner) == 1 else value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise SpecError(f"{where}: must be an array, got {value!r}")
        item = args[0]
        return tuple(_typed(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: must be true or false, got {value!r}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(f"{where}: must be an integer, got {value!r}")
        return value
    if hint is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SpecError(f"{where}: must be a number, got {value!r}")
        return float(value)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else _build(hint, value, where)
    if hint in (str, dict) and not isinstance(value, hint):
        raise SpecError(f"{where}: must be a {'string' if hint is str else 'table'}, got {value!r}")
    return value


# --- validation ---------------------------------------------------------------------------------------
def validate(spec: Spec) -> None:
    """Every reference resolves and every value is allowed, before any work starts."""
    _one_of(spec.kind, KINDS, "kind")
    if spec.kind == "script":
        if spec.script is None:
            raise SpecError("script: missing (a spec of kind 'script' names its command and outputs)")
        return
    for key in ("tasks", "root"):
        if not getattr(spec, key):
            raise SpecError(f"{key}: missing (required for a grid)")
    if spec.data is None:
        raise SpecError("data: missing ([data] with at least path)")
    tasks = _tasks(spec.tasks)
    if not spec.rows and not spec.archived:
        raise SpecError("rows: missing (at least one [[rows]], or [[archived]] rows for a table kept from its archive)")
    _validate_rows(spec)
    for i, evaluation in enumerate(spec.evaluations):
        _validate_evaluation(spec, evaluation, f"evaluations[{i}]", tasks)
    kept: list[str] = []  # the archived rows' names (seed suffix included), each archive read once
    for i, archived in enumerate(spec.archived):
        if not Path(archived.report).is_file():
            raise SpecError(f"archived[{i}].report: no such file {archived.report!r}")
        names = [r["name"] for r in json.loads(Path(archived.report).read_text())["results"]]
        for name in archived.rows:
            _one_of(name, sorted(names), f"archived[{i}].rows")
        kept += [n for n in names if not archived.rows or n in archived.rows]
    _validate_report(spec, kept)


def _one_of(value, allowed, where: str) -> None:
    if value not in allowed:
        raise SpecError(f"{where}: {value!r} is not allowed; allowed: {', '.join(map(str, allowed))}")


def _tasks(tasks: str) -> list[str]:
    from grids.sim.tasks import is_aloha, resolve_tasks

    try:
        if tasks == "aloha" or all(is_aloha(t) for t in tasks.split(",")):
            from grids.sim.aloha import resolve_aloha_tasks

            return resolve_aloha_tasks("all" if tasks == "aloha" else tasks)
        return resolve_tasks(tasks)
    except (ValueError, KeyError) as err:
        raise SpecError(f"tasks: {err}") from None


def _validate_rows(spec: Spec) -> None:
    from grids.core import list_reducers

    names = [row.name for row in spec.rows]
    for i, row in enumerate(spec.rows):
        where = f"rows[{i}] ({row.name})"
        if names.count(row.name) > 1:
            raise SpecError(f"{where}.name: {row.name!r} appears twice")
        _one_of(row.reducer, list_reducers(), f"{where}.reducer")
        if not row.seeds:
            raise SpecError(f"{where}.seeds: empty; a row trains at one seed at least, e.g. seeds = [0]")
        if any(s < 0 for s in row.seeds) or len(set(row.seeds)) < len(row.seeds):
            raise SpecError(f"{where}.seeds: {list(row.seeds)} must be distinct integers >= 0")
        protocol = spec.row_protocol(row)
        _one_of(protocol.encoder, ENCODERS, f"{where}.protocol.encoder")
        _one_of(protocol.preset, PRESETS, f"{where}.protocol.preset")
        top = protocol.policy.get("encoder_top", 0)
        if top != spec.protocol.policy.get("encoder_top", 0):
            raise SpecError(f"{where}.protocol.policy.encoder_top: {top!r} differs from the spec's protocol: every row "
                            f"trains on one feature cache; set encoder_top in [protocol] (one spec per cache)")  # fmt: skip
        try:
            train_config(spec, row, seed=row.seeds[0])
        except (ValueError, TypeError) as err:
            raise SpecError(f"{where}: {err}") from None


def _validate_evaluation(spec: Spec, evaluation: Evaluation, where: str, tasks: list[str]) -> None:
    from grids.sim.perturbations import get_perturbation

    names = [row.name for row in spec.rows]
    for name in evaluation.rows:
        _one_of(name, names, f"{where}.rows")
    if evaluation.episodes < 1:
        raise SpecError(f"{where}.episodes: must be >= 1, got {evaluation.episodes}")
    _one_of(evaluation.starts, STARTS, f"{where}.starts")
    if evaluation.execute_steps is not None:
        for row, _, _ in evaluated(spec, evaluation):
            chunk = spec.row_protocol(row).chunk_size
            if not 1 <= evaluation.execute_steps <= chunk:
                raise SpecError(f"{where}.execute_steps: must be in 1..{chunk} (row {row.name}'s chunk_size), "
                                f"got {evaluation.execute_steps}")  # fmt: skip
    for perturbation in evaluation.perturbations:
        try:
            get_perturbation(perturbation)
        except (ValueError, KeyError) as err:
            raise SpecError(f"{where}.perturbations: {err}") from None
    seen = {}
    for j, other in enumerate(spec.evaluations):
        for row, seed, perturbation in evaluated(spec, other):
            key = (row.name, seed, perturbation, other.starts)
            if key in seen and seen[key] != j:
                raise SpecError(
                    f"evaluations[{j}]: row {row.name} seed {seed} is already evaluated under {perturbation!r} "
                    f"({other.starts} starts) by evaluations[{seen[key]}]; a table has one evaluation per row, seed, "
                    "perturbation and starts"
                )
            seen[key] = j
    for seed in evaluation.seeds:
        rows = [spec.row(n) for n in evaluation.rows] if evaluation.rows else spec.rows
        if not any(seed in row.seeds for row in rows):
            raise SpecError(f"{where}.seeds: no row is trained at seed {seed}")


def _validate_report(spec: Spec, archived_rows: list[str]) -> None:
    names = [row.name for row in spec.rows]
    archived = [name.split(" (seed ")[0] for name in archived_rows]
    known = names + [n for n in dict.fromkeys(archived) if n not in names]  # rows, then archived rows
    if spec.report.reference is not None:
        _one_of(spec.report.reference, known, "report.reference")
    for i, pair in enumerate(spec.report.pairs):
        if len(pair) != 2:
            raise SpecError(f"report.pairs[{i}]: must be [row, reference], got {list(pair)}")
        for name in pair:
            _one_of(name, known, f"report.pairs[{i}]")
    for i, points in enumerate(spec.report.points):
        _one_of(points.row, names, f"report.points[{i}].row")
        _one_of(points.seed, spec.row(points.row).seeds, f"report.points[{i}].seed")
    if spec.report.gif is not None:
        _one_of(spec.report.gif, names, "report.gif")


def evaluated(spec: Spec, evaluation: Evaluation) -> list[tuple[Row, int, str]]:
    """The (row, training seed, perturbation) triples ``evaluation`` covers."""
    rows = [spec.row(n) for n in evaluation.rows] if evaluation.rows else list(spec.rows)
    return [
        (row, seed, perturbation)
        for row in rows
        for seed in row.seeds
        if not evaluation.seeds or seed in evaluation.seeds
        for perturbation in evaluation.perturbations
    ]


# --- where a row's run lives and how it trains -------------------------------------------------------
def run_dir(spec: Spec, row: Row, seed: int) -> Path:
    return Path(spec.root) / f"{row.name}-s{seed}"


def features_dir(spec: Spec) -> Path:
    """The cache every row trains on: the frozen pretrained encoder's feature maps of every training frame (under
    a trainable top, ``policy.encoder_top = n``, the trunk's: ``<root>/features-top<n>``)."""
    top = spec.protocol.policy.get("encoder_top", 0)
    return Path(spec.protocol.features or Path(spec.root) / ("features" + (f"-top{top}" if top else "")))


def train_config(spec: Spec, row: Row, *, seed: int):
    """The row's ``TrainConfig`` at ``seed``: the one builder ``grids bench train`` uses too."""
    from grids.bench.experiments import Run
    from grids.bench.experiments import train_config as build

    p = spec.row_protocol(row)
    options = dict(row.options) | ({"seed": seed} if row.seed_option else {})
    options |= {} if row.coord_embedding else {"coord_embedding": None}
    return build(
        Run(row.name, row.reducer, row.tokens, row.label or row.reducer, options, row.task_aware),
        data=spec.data.path,
        out=run_dir(spec, row, seed),
        preset=p.preset,
        steps=p.steps,
        batch_size=p.batch_size,
        lr=p.lr,
        ema=p.ema,
        seed=seed,
        save_every=p.save_every,
        keep_every=p.keep_every,
        features=features_dir(spec),
        language_model=p.language_model,
        chunk_size=p.chunk_size,
        action_head=p.action_head,
        encoder=p.encoder,
        feature_shift=p.feature_shift,
        resample_at_layer=None,
        **p.policy,
    )
