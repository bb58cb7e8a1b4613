"""``grids bench run SPEC``: make whatever a spec's table lacks, in order, then write the report.

The plan is a list of steps — the data, the feature cache, each row x seed's training, each evaluation, the
figures — each idempotent (a finished step is found on disk and skipped) and resumable (data generation, the
cache, training and evaluation all continue where a killed process stopped). One process owns a run root at a
time (``<root>/.lock``). ``dry_run`` prints the plan with the CPU time it will take, from the rates measured on
this machine (``timings.jsonl`` beside the run root, written by every step) or the defaults below.

Layout: ``<root>/<row>-s<seed>/`` (a training run: config.json, checkpoints/, metrics.csv) holding its
evaluations ``eval_<perturbation>_<episodes>ep_<max steps>_<starts>[_x<execute steps>].json``; ``<root>/features`` (the cache).
Every run is also kept, small, in the repository at every checkpoint (``<results>/runs/<root name>/<row>-s<seed>``,
``grids.bench.kept``): a fresh checkout restores a finished one and evaluates it without the data or a retraining,
and resumes an unfinished one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grids.bench.report import mcnemar_p, p_text
from grids.bench.spec import (
    Evaluation,
    Points,
    Row,
    Spec,
    SpecError,
    evaluated,
    features_dir,
    run_dir,
    train_config,
)
from grids.errors import UserError

# Seconds per unit measured on the project's 2-core CPU (closing notes of the stage runs): a first estimate,
# replaced by this machine's own rates once a step of the kind has run here.
DEFAULT_RATES = {
    ("data", "metaworld"): 0.6,  # per episode
    ("data", "libero"): 7.2,
    ("data", "aloha"): 6.0,
    ("features", "metaworld"): 3.2,  # per episode of data
    ("features", "libero"): 5.4,
    ("features", "aloha"): 6.0,
    ("train-dense", "metaworld"): 0.25,  # per step at batch 32
    ("train-dense", "libero"): 0.40,
    ("train-dense", "aloha"): 0.40,
    ("train-head", "metaworld"): 0.042,
    ("train-head", "libero"): 0.06,
    ("train-head", "aloha"): 0.06,
    # A head under a trainable encoder top (encoder_top = 3): 1.04 s a step at batch 32 against a head's 0.045
    # (dense: 1.24; benchmarks/results/encoder_top_cost.md); the top dominates, whatever the suite.
    ("train-head-top", "metaworld"): 1.04,
    ("train-head-top", "libero"): 1.04,
    ("train-head-top", "aloha"): 1.04,
    ("train-dense-top", "metaworld"): 1.24,
    ("train-dense-top", "libero"): 1.24,
    ("train-dense-top", "aloha"): 1.24,
    ("eval", "metaworld"): 0.75,  # per episode, two workers
    ("eval", "libero"): 2.0,
    ("eval", "aloha"): 3.0,
    ("points", "metaworld"): 60.0,  # per figure
    ("points", "libero"): 240.0,
    ("points", "aloha"): 120.0,
}
# How a run is watched, and what training fills in from the data (tasks, state / action sizes, camera): not
# what the spec decides.
IGNORED_CONFIG_FIELDS = ("progress", "num_workers", "tasks", "state_dim", "action_dim", "action_stats", "camera")


@dataclass
class Step:
    kind: str  # data, features, train, restore, keep, eval, points, script
    label: str
    done: bool
    units: float  # what the rate multiplies (episodes, steps, ...)
    action: Callable[[], None]
    rate_key: str = ""

    def seconds(self, rates: dict) -> float:
        return 0.0 if self.done else self.units * rates.get(self.rate_key or self.kind, 0.0)


# --- where things are ---------------------------------------------------------------------------------
def suite(spec: Spec) -> str:
    from grids.sim.tasks import is_aloha, is_libero

    tasks = resolved_tasks(spec)
    return "libero" if is_libero(tasks[0]) else "aloha" if is_aloha(tasks[0]) else "metaworld"


def resolved_tasks(spec: Spec) -> list[str]:
    from grids.bench.spec import _tasks

    return _tasks(spec.tasks)


def eval_path(spec: Spec, row: Row, seed: int, evaluation: Evaluation, perturbation: str) -> Path:
    execute = "" if evaluation.execute_steps is None else f"_x{evaluation.execute_steps}"  # older files: half the chunk
    name = f"eval_{perturbation}_{evaluation.episodes}ep_{evaluation.max_steps}_{evaluation.starts}{execute}.json"
    return run_dir(spec, row, seed) / name


# --- the plan -----------------------------------------------------------------------------------------
def plan(spec: Spec, *, only: tuple[str, ...] = (), seeds: tuple[int, ...] = (), progress: bool = True) -> list[Step]:
    """Every step of ``spec`` (restricted to rows ``only`` and training ``seeds``), finished or not, in order."""
    if spec.kind == "script":
        return [_script_step(spec)]
    rows = [r for r in spec.rows if not only or r.name in only]
    wanted = [(r, s) for r in rows for s in r.seeds if not seeds or s in seeds]
    if not wanted:
        return []  # a table kept from its archive alone
    steps = [_train_step(spec, row, seed, progress) for row, seed in wanted]
    for evaluation in spec.evaluations:
        runs: dict[tuple[str, int], list[str]] = {}  # (row, seed) -> its perturbations
        for row, seed, perturbation in evaluated(spec, evaluation):
            if (row, seed) in wanted:
                runs.setdefault((row.name, seed), []).append(perturbation)
        steps += [_eval_step(spec, spec.row(name), seed, evaluation, perts, progress)
                  for (name, seed), perts in runs.items()]  # fmt: skip
    for points in spec.report.points:
        if (spec.row(points.row), points.seed) in wanted:
            steps.append(_points_step(spec, points))
    # training reads the data through the feature cache, a points figure reads the data; a restored run, an
    # evaluation and a kept run's files read neither
    if any(s.kind == "train" and not s.done for s in steps):
        steps = [_data_step(spec, progress), _features_step(spec, progress), *steps]
    elif any(s.kind == "points" and not s.done for s in steps):
        steps = [_data_step(spec, progress), *steps]
    return _unique(steps)


def _unique(steps: list[Step]) -> list[Step]:
    seen, kept = set(), []
    for step in steps:
        if step.label not in seen:
            seen.add(step.label)
            kept.append(step)
    return kept


def _data_step(spec: Spec, progress: bool) -> Step:
    tasks, data = resolved_tasks(spec), spec.data

    def make() -> None:
        from grids.sim import generate_demos

        generate_demos(tasks, data.episodes_per_task, data.path, image_size=data.image_size, workers=data.workers,
                       seed=data.seed, camera=data.camera, suite=suite(spec), progress=progress)  # fmt: skip

    return Step("data", f"data {data.path}", _data_complete(data.path), len(tasks) * data.episodes_per_task, make,
                rate_key="data")  # fmt: skip


def _data_complete(path: str) -> bool:
    manifest = Path(path) / "manifest.json"
    return manifest.is_file() and json.loads(manifest.read_text()).get("complete", False)


def _features_step(spec: Spec, progress: bool) -> Step:
    out = features_dir(spec)

    def make() -> None:
        from grids.bench.features import cache_features
        from grids.bench.policy import Policy
        from grids.bench.train import open_dataset

        dataset = open_dataset(spec.data.path, spec.protocol.chunk_size)
        encoder = Policy(train_config(spec, spec.rows[0], seed=0).policy)
        cache_features(encoder, dataset, out, source=spec.protocol.encoder, progress=progress)

    episodes = len(resolved_tasks(spec)) * spec.data.episodes_per_task
    return Step("features", f"features {out}", (out / "meta.json").is_file(), episodes, make)


def _train_step(spec: Spec, row: Row, seed: int, progress: bool) -> Step:
    """Train the row at ``seed``, keeping the run at every checkpoint (``grids.bench.kept``). A kept checkpoint newer
    than the run's on disk is restored first: a finished one instead of training, an unfinished one to resume from;
    a run trained but not kept is kept."""
    from grids.bench.kept import keep_run, keeps, kept_step, restore_run
    from grids.bench.train import latest_checkpoint, read_state

    config = train_config(spec, row, seed=seed)
    config.progress = progress
    directory, kept = run_dir(spec, row, seed), kept_dir(spec, row, seed)
    latest = latest_checkpoint(directory)
    on_disk, in_repo = read_state(latest)["step"] if latest else 0, kept_step(kept) or 0
    if in_repo > on_disk and in_repo >= config.steps:
        return Step("restore", f"restore {directory} from {kept}", False, 1, lambda: restore_run(kept, directory))
    if on_disk >= config.steps:
        return Step("keep", f"keep {directory} in {kept}", keeps(kept, latest), 1, lambda: keep_run(directory, kept))

    threads = spec.row_protocol(row).threads

    def make() -> None:
        import torch

        from grids.bench.train import train

        if in_repo > on_disk:
            restore_run(kept, directory)
        torch.set_num_threads(threads)  # float sums depend on it: part of the protocol
        train(config, on_save=lambda: keep_run(directory, kept))

    # every token through the transformer (a dropout range keeps up to all of them: priced as dense)
    dense = row.reducer == "dense" and not isinstance(row.options.get("train_tokens"), int)
    kind = ("train-dense" if dense else "train-head") + ("-top" if config.policy.encoder_top else "")
    start = max(on_disk, in_repo)
    label = f"train {directory}" + (f" from step {start}" if start else "")
    label += f" (kept in {kept})" if in_repo > on_disk else ""
    return Step("train", label, False, config.steps - start, make, kind)


def finished_run(spec: Spec, row: Row, seed: int) -> Path | None:
    """The run of ``row`` at ``seed`` if its training has finished, here or in its kept copy (restored first, as the
    train step would); None for a run not trained to the protocol's steps."""
    step = _train_step(spec, row, seed, progress=False)  # "keep": finished here; "restore": finished in the kept copy
    if step.kind == "restore":
        step.action()
    return run_dir(spec, row, seed) if step.kind in ("keep", "restore") else None


def kept_dir(spec: Spec, row: Row, seed: int) -> Path:
    """Where the run of ``row`` at ``seed`` is kept in the repository: ``<results>/runs/<root name>/<row>-s<seed>``."""
    return Path(spec.results) / "runs" / Path(spec.root).name / f"{row.name}-s{seed}"


def _eval_step(spec: Spec, row: Row, seed: int, evaluation: Evaluation, perturbations: list[str],
               progress: bool) -> Step:  # fmt: skip
    """One run's ``[[evaluations]]`` entry under every perturbation its files lack, in one pool of workers (a shift
    evaluation of 20 episodes is mostly starting workers and simulators when run alone), one file per
    perturbation. Its journal is the entry's first perturbation's, whichever are left, so a rerun finds it."""
    outs = {p: eval_path(spec, row, seed, evaluation, p) for p in perturbations}
    journal = outs[perturbations[0]].with_suffix(".journal.jsonl")
    tasks = resolved_tasks(spec)

    def lacking() -> list[str]:  # the clean episodes first: the recording is of them
        return sorted((p for p, out in outs.items() if not out.is_file()), key=lambda p: p != "none")

    def make() -> None:
        from grids.bench.evaluate import evaluate

        missing = lacking()
        if not missing:
            return
        record = missing[0] == "none" and spec.report.gif == row.name and seed == 0  # the first job of missing[0]
        reuse = [e for p in missing for e in _fewer_episodes(outs[p], evaluation)]
        result = evaluate(journal.parent, tasks, episodes=evaluation.episodes, perturbations=tuple(missing),
                          workers=evaluation.workers, max_steps=evaluation.max_steps, record=record,
                          progress=progress, journal=journal, reuse=reuse, starts=evaluation.starts,
                          execute_steps=evaluation.execute_steps)  # fmt: skip
        recording = result.pop("recording", None)
        if recording is not None:
            import numpy as np

            np.savez_compressed(journal.parent / "recording.npz", frames=recording["frames"], coords=recording["coords"])
        for p in missing:
            _write_json(outs[p], one_perturbation(result, p))
        journal.unlink(missing_ok=True)

    todo = lacking()
    if len(outs) == 1:
        label = f"eval {outs[perturbations[0]]}"
    else:  # the entry's first file names it: no two entries of a run share a perturbation (spec.py)
        label = f"eval {outs[perturbations[0]]} and {len(outs) - 1} more perturbations ({len(todo)} to run)"
    return Step("eval", label, not todo, len(tasks) * evaluation.episodes * len(todo), make)


def one_perturbation(result: dict, perturbation: str) -> dict:
    """An evaluation's result as the evaluation of ``perturbation`` alone would have written it."""
    return {
        **result,
        "per_task": {perturbation: result["per_task"][perturbation]},
        "summary": {perturbation: result["summary"][perturbation]},
        "episodes": [e for e in result["episodes"] if e["perturbation"] == perturbation],
    }


def _fewer_episodes(out: Path, evaluation: Evaluation) -> list[dict]:
    """The episodes of this run's evaluations over fewer episodes (same perturbation, limit, starts): a table
    over 50 episodes per task reuses the one over 20, whose episodes are its first 20."""
    head, tail = out.name.split("_", 2)[1], out.name.split("ep_", 1)[1]
    episodes = []
    for path in out.parent.glob(f"eval_{head}_*ep_{tail}"):
        if path != out and int(path.name.split("_")[2].removesuffix("ep")) < evaluation.episodes:
            episodes += json.loads(path.read_text())["episodes"]
    return episodes


def _points_step(spec: Spec, points: Points) -> Step:
    row = spec.row(points.row)
    png = points_png(spec, points)

    def make() -> None:
        from grids.bench.points import write_points

        write_points(run_dir(spec, row, points.seed), resolved_tasks(spec), png, at_steps=points.at_steps,
                     perturbation=points.perturbation, data=spec.data.path, frames=points.frames,
                     execute_steps=_horizon(spec, row, seed=points.seed))  # fmt: skip
        stamp(png.with_suffix(".json"), spec)

    return Step("points", f"points {png}", _points_done(spec, row, seed=points.seed, png=png), 1, make)


def _points_done(spec: Spec, row: Row, *, seed: int, png: Path) -> bool:
    """The figure exists and its episodes ran at the spec's receding horizon (a figure from before the horizon was
    recorded ran at the default, half the chunk): one made at another horizon is made again."""
    from grids.bench.rollout import execute_horizon

    stats = png.with_suffix(".json")
    if not (png.is_file() and stats.is_file()):
        return False
    chunk = spec.row_protocol(row).chunk_size
    made_at = json.loads(stats.read_text()).get("execute_steps") or execute_horizon(chunk, None)
    return made_at == execute_horizon(chunk, _horizon(spec, row, seed=seed))


def _horizon(spec: Spec, row: Row, *, seed: int) -> int | None:
    """The receding horizon the spec evaluates ``row`` at ``seed`` with (its first evaluation of them), so that its
    points figure follows the episodes of its table."""
    return next((e.execute_steps for e in spec.evaluations for r, s, _ in evaluated(spec, e) if r.name == row.name and s == seed),
                None)  # fmt: skip


def points_png(spec: Spec, points: Points) -> Path:
    if points.file:
        return Path(points.file)
    prefix = spec.report.points_prefix or spec.name
    shift = "" if points.perturbation == "none" else f"{points.perturbation}_"
    return Path(spec.results) / f"{prefix}_points_{shift}{points.row}.png"


def _script_step(spec: Spec) -> Step:
    script = spec.script

    def make() -> None:
        completed = subprocess.run(list(script.command), check=False)
        if completed.returncode != 0:
            raise UserError(f"{spec.path}: `{shlex.join(script.command)}` exited with {completed.returncode}")

    done = all(Path(o).is_file() for o in script.outputs)
    return Step("script", f"script {shlex.join(script.command)}", done, script.minutes * 60, make)


# --- running it ---------------------------------------------------------------------------------------
def rates(spec: Spec) -> dict[str, float]:
    """Seconds per unit of each step kind: measured on this machine where a step of the kind has run."""
    measured: dict[str, list[float]] = {}
    name = suite(spec) if spec.kind == "grid" else "metaworld"
    log = timings_path(spec)
    if spec.kind == "grid" and log.is_file():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("suite", name) == name:
                measured.setdefault(entry["kind"], []).append(entry["seconds"] / max(entry["units"], 1e-9))
    defaults = {kind: rate for (kind, s), rate in DEFAULT_RATES.items() if s == name} | {"script": 1.0}
    return defaults | {kind: sum(v) / len(v) for kind, v in measured.items()}


def timings_path(spec: Spec) -> Path:
    """Every step's measured duration, shared by the run roots beside this one (``runs/timings.jsonl``)."""
    return Path(spec.root or ".").parent / "timings.jsonl"


def describe(spec: Spec, steps: list[Step]) -> str:
    """The plan as text: each step, done or to run with its estimated time, and the total."""
    r = rates(spec)
    lines = [f"plan for {spec.path} (sha256 {spec.sha256[:12]}):"]
    for step in steps:
        state = "done" if step.done else f"to run, ~{duration(step.seconds(r))}"
        lines.append(f"  [{state}] {step.label}")
    todo = [s for s in steps if not s.done]
    total = sum(s.seconds(r) for s in todo)
    lines.append(f"{len(todo)} of {len(steps)} steps to run, ~{duration(total)} of CPU on this machine's rates")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """A step's estimate in the unit that reads at once: seconds under 90 s, minutes under 90 min, else hours."""
    if round(seconds) < 90:
        return f"{seconds:.0f} s"
    if round(seconds / 60) < 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def execute(spec: Spec, steps: list[Step], *, log=print) -> None:
    """Run every unfinished step in order, timing each into ``timings.jsonl`` beside the run root."""
    import torch

    if spec.kind == "grid":
        torch.set_num_threads(spec.protocol.threads)  # threads change float sums: part of the protocol
    for step in steps:
        if step.done:
            continue
        log(f"== {time.strftime('%H:%M:%S')} {step.label}")
        tic = time.perf_counter()
        step.action()
        seconds = time.perf_counter() - tic
        if spec.kind == "grid":
            entry = {"suite": suite(spec), "kind": step.rate_key or step.kind, "units": step.units,
                     "seconds": round(seconds, 1)}  # fmt: skip
            timings_path(spec).parent.mkdir(parents=True, exist_ok=True)
            with open(timings_path(spec), "a") as f:
                f.write(json.dumps(entry) + "\n")
        step.done = True


class RunLock:
    """One ``grids bench run`` per run root: a second one fails at once, naming the holder."""

    def __init__(self, root: str | Path):
        self.path = Path(root) / ".lock"

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            raise UserError(f"{self.path.parent} is in use by {holder}; wait for it to finish") from None
        self.file.truncate(0)
        self.file.write(f"pid {os.getpid()}: {' '.join(sys.argv)}\n")
        self.file.flush()
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def check_unchanged(spec: Spec, *, force: bool = False, log=print) -> None:
    """A row whose run exists, on disk or kept, under another protocol is refused, naming the row and the
    difference; with ``force`` the old run moves aside (``<run>.replaced-<time>``), its kept copy is removed (git
    has it) and the row trains anew."""
    for row in spec.rows:
        for seed in row.seeds:
            for directory in (run_dir(spec, row, seed), kept_dir(spec, row, seed)):
                saved = directory / "config.json"
                if not saved.is_file():
                    continue
                diff = _config_diff(json.loads(saved.read_text()), train_config(spec, row, seed=seed).to_dict())
                if not diff:
                    continue
                if not force:
                    raise SpecError(
                        f"{spec.path}: row {row.name} seed {seed} already has a run at {directory} trained with "
                        f"{'; '.join(diff)}; restore the spec, or pass --force to move that run aside and retrain"
                    )
                if directory == kept_dir(spec, row, seed):
                    shutil.rmtree(directory)
                    log(f"--force: the kept run {directory} ({'; '.join(diff)}) removed")
                    continue
                aside = directory.with_name(f"{directory.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
                shutil.move(directory, aside)
                log(f"--force: {directory} ({'; '.join(diff)}) moved to {aside}")


def _config_diff(saved: dict, wanted: dict, prefix: str = "") -> list[str]:
    diff = []
    for key in sorted(set(saved) | set(wanted)):
        if key in IGNORED_CONFIG_FIELDS:
            continue
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key != "reducer_options":
            diff += _config_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            diff.append(f"{prefix}{key} = {a!r} (the spec says {b!r})")
    return diff


def stamp(path: Path, spec: Spec) -> None:
    """Record in a JSON output the spec that makes it."""
    if path.is_file():
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            _write_json(path, {"spec": spec.path, **{k: v for k, v in data.items() if k != "spec"}})


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


# --- the report ---------------------------------------------------------------------------------------
def collect(spec: Spec) -> list[dict]:
    """One result per row and training seed, in the spec's order (the reference's seeds first): the run's
    evaluations where it has any, else the archived row of the same name (marked), else nothing."""
    from grids.bench.tables import curve_points, family, final_loss, label_starts

    archived = _archived_rows(spec)
    reference = spec.report.reference or (spec.rows[0].name if spec.rows else "")
    ordered = sorted(spec.rows, key=lambda r: r.name != reference)
    results = []
    for row in ordered:
        for seed in row.seeds:
            name = row.name if seed == 0 else f"{row.name} (seed {seed})"
            files = [eval_path(spec, row, seed, e, p) for e in spec.evaluations for r, s, p in evaluated(spec, e)
                     if r is row and s == seed]  # fmt: skip
            files = sorted((f for f in files if f.is_file()), key=lambda f: not f.name.startswith("eval_none_"))
            if not files:
                if name in archived:
                    results.append(archived[name])
                continue
            merged = None
            for path in files:
                result = label_starts(json.loads(path.read_text()))
                merged = merged or {**result, "per_task": {}, "summary": {}, "episodes": []}
                merged["per_task"].update(result["per_task"])
                merged["summary"].update(result["summary"])
                merged["episodes"] += result["episodes"]
            config = json.loads((run_dir(spec, row, seed) / "config.json").read_text())
            directory = run_dir(spec, row, seed)
            merged.update(name=name, seed=seed, steps=config["steps"], protocol=_protocol(config),
                          label=row.label or family(config["policy"]) + (" EMA" if config.get("ema") else ""))  # fmt: skip
            merged["curve"] = curve_points(directory, config["steps"], merged["summary"])
            merged["final_loss"] = final_loss(directory)
            merged.update(run_identity(directory))
            if name in archived:
                merged["reproduces"] = reproduction(merged, archived[name])
            results.append(merged)
    names = {r["name"] for r in results}
    results += [row for name, row in archived.items() if name not in names and _is_extra(spec, name)]
    return sorted(results, key=lambda r: r["name"].split(" (seed ")[0] != reference)  # the reference's rows first


def run_identity(directory: Path) -> dict:
    """What a run was trained on and what it evaluated: the training data's fingerprint (its episodes' shard
    hashes) and the sha256 of the evaluated weights file (the EMA's where the run kept one), from the latest
    checkpoint; ``{}`` without one. A remade run equal to its archived twin has both the same."""
    from grids.bench.train import CheckpointError, latest_checkpoint, read_state, weights_file
    from grids.sim.dataset import sha256_file

    checkpoint = latest_checkpoint(directory)
    if checkpoint is None:
        return {}
    weights = weights_file(checkpoint)
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {checkpoint} has no {weights.name}: the run's evaluations cannot be traced to weights")
    return {"data_fingerprint": read_state(checkpoint).get("dataset"), "weights_sha256": sha256_file(weights)}


def reproduction(row: dict, archived: dict) -> dict:
    """How many of the episodes a remade row shares with its archived twin (same task, perturbation, episode
    seed) have the same outcome (``same``: success and length; a deterministic retraining reproduces all of them),
    and how far apart their successes are where it does not: ``same_success``, ``only_remade`` / ``only_twin``
    (episodes only one of them succeeded in) and McNemar's ``p`` (a small p: the retraining changed the row's level).
    ``same_data`` / ``same_weights``: whether the two runs' data fingerprints / weights hashes agree (None where
    either lacks one: a twin that predates them, a run without a checkpoint)."""
    def key(e: dict) -> tuple:
        return e["task"], e["perturbation"], e["seed"]

    theirs = {key(e): (e["success"], e.get("length")) for e in archived["episodes"]}
    ours = {key(e): (e["success"], e.get("length")) for e in row["episodes"] if key(e) in theirs}
    only_remade, only_twin, p = mcnemar_p({k: o[0] for k, o in ours.items()}, {k: theirs[k][0] for k in ours})
    agree = {
        f"same_{what}": row[field] == archived[field] if row.get(field) and archived.get(field) else None
        for what, field in (("data", "data_fingerprint"), ("weights", "weights_sha256"))
    }
    return {"commit": archived["archived"]["commit"], "same": sum(o == theirs[k] for k, o in ours.items()),
            "of": len(ours), "same_success": len(ours) - only_remade - only_twin, "only_remade": only_remade,
            "only_twin": only_twin, "p": p, **agree}  # fmt: skip


def _reproduction_words(result: dict) -> str:
    """``grids-16 75 / 500 (same success 326, 65 / 109, p = 0.001; commit 480f133, other data, other weights)``."""
    r = result["reproduces"]
    success = f"same success {r['same_success']}, {r['only_remade']} / {r['only_twin']}, {p_text(r['p'])}; " if "p" in r else ""
    return f"{result['name']} {r['same']} / {r['of']} ({success}commit {r['commit']}{_identity_words(r)})"


def _identity_words(reproduces: dict) -> str:
    """``same data, other weights`` for a report's line; empty where the twin predates the fingerprints."""
    words = [f"{'same' if reproduces[f'same_{what}'] else 'other'} {what}" for what in ("data", "weights")
             if reproduces.get(f"same_{what}") is not None]  # fmt: skip
    return "".join(f", {w}" for w in words)


def _is_extra(spec: Spec, name: str) -> bool:
    """An archived row that is no row x seed of the spec (an earlier protocol's row the table keeps)."""
    base, _, seed = name.partition(" (seed ")
    rows = {r.name: r.seeds for r in spec.rows}
    return base not in rows or int(seed.rstrip(")") or 0) not in rows[base]


def _archived_rows(spec: Spec) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for archived in spec.archived:
        for row in json.loads(Path(archived.report).read_text())["results"]:
            if (not archived.rows or row["name"] in archived.rows) and row["name"] not in rows:
                marks = {"archived": {"report": archived.report, "commit": archived.commit, "reason": archived.reason}}
                seed = int(row["name"].partition(" (seed ")[2].rstrip(")") or 0)
                rows[row["name"]] = {"seed": seed, **row, **marks}
    return rows


def _protocol(config: dict) -> str:
    policy = config["policy"]
    return (f"pretrained frozen {policy['encoder']}, shift {policy['feature_shift']:g}, batch {config['batch_size']}, "
            f"preset width {policy['dim']}" + (f", EMA {config['ema']:g}" if config.get("ema") else ""))  # fmt: skip


def write_spec_report(spec: Spec, *, command: str) -> dict[str, Path]:
    """``<results>/<name>.{json,md,png}`` from the runs and the archived rows; the header names the spec."""
    from grids.bench.experiments import gif_from_run
    from grids.bench.report import write_report
    from grids.bench.tables import sections

    results = collect(spec)
    if not results:
        raise UserError(f"{spec.path}: nothing to report yet (no evaluation on disk, no archived row); run it first")
    reference = spec.report.reference or results[0]["name"].split(" ")[0]
    notes = _notes(spec, results)
    meta = {"spec": spec.path, "spec_sha256": spec.sha256, "machine": machine()}
    paths = write_report(results, spec.report_prefix, command=command, notes=notes, meta=meta)
    with open(paths["md"], "a") as md:
        md.write(sections(results, pairs=list(spec.report.pairs), reference=reference))
    for points in spec.report.points:  # a figure remade by its step is stamped there; one kept from before here
        stamp(points_png(spec, points).with_suffix(".json"), spec)
    if spec.report.gif:
        gif = gif_from_run(run_dir(spec, spec.row(spec.report.gif), 0), f"{spec.report_prefix}_{spec.report.gif}.gif")
        if gif is not None:
            paths["gif"] = gif
    return paths


def machine() -> dict:
    """What a report was made on: floating-point results (hence trained weights) can differ between CPU models."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()}


def _notes(spec: Spec, results: list[dict]) -> str:
    m = machine()
    fresh = any("archived" not in r for r in results)
    made_on = f"Rows not archived were made on {m['cpu']} ({m['cores']} cores), torch {m['torch']}." if fresh else ""
    lines = [f"Spec: `{spec.path}` (sha256 {spec.sha256[:12]}). {spec.title} {made_on}".strip(), spec.report.notes.strip()]
    remade = [r for r in results if "reproduces" in r]
    if remade:
        lines.append("Remade rows against their archived twins (episodes with the same task, perturbation and seed that "
                     "have the same success and length; then the same success, and the episodes only the remade row / "
                     "only the twin succeeded in, McNemar): " + ", ".join(map(_reproduction_words, remade)) + ".")  # fmt: skip
    kept = [r for r in results if "archived" in r]
    if kept:
        by_source: dict[tuple, list[str]] = {}
        for r in kept:
            a = r["archived"]
            by_source.setdefault((a["report"], a["commit"], a["reason"]), []).append(r["name"])
        lines.append("Archived rows (their runs are gone; kept from an earlier report, not remade by this run):")
        lines += [f"- {', '.join(names)}: `{report}` at commit {commit}; {reason}"
                  for (report, commit, reason), names in by_source.items()]  # fmt: skip
    paragraphs, bullets = [x for x in lines if x and not x.startswith("- ")], [x for x in lines if x.startswith("- ")]
    return "\n\n".join(paragraphs) + "".join(f"\n{b}" for b in bullets)  # the archived rows' list comes last
