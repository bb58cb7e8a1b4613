"""Results -> markdown table, success-vs-tokens plot, rollout GIF with the sampled points drawn."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

# One colour per view's points: yellow on the third-person view (the robot is red), cyan on the gripper view.
POINT_COLOURS = np.array([[255, 230, 0], [40, 255, 255]], dtype=np.uint8)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mcnemar_p(a: dict, b: dict) -> tuple[int, int, float]:
    """Exact two-sided McNemar test on paired episodes ``{key: success}``: (a only, b only, p-value).

    Only the keys both hold are compared (the same episode seeds); ties count nothing.
    """
    keys = a.keys() & b.keys()
    only_a = sum(a[k] and not b[k] for k in keys)
    only_b = sum(b[k] and not a[k] for k in keys)
    n = only_a + only_b
    if n == 0:
        return 0, 0, 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
    return only_a, only_b, min(1.0, 2 * tail)


def outcomes(result: dict, perturbation: str = "none", *, states: int | None = None) -> dict:
    """``{(task, episode seed): success}`` of ``result``'s episodes under ``perturbation`` (only those from the first
    ``states`` official init states per task, if given): what paired comparisons pair."""
    return {(e["task"], e["seed"]): bool(e["success"]) for e in result.get("episodes", [])
            if e.get("perturbation", perturbation) == perturbation
            and (states is None or e["init_state"] < states)}  # fmt: skip


def paired_stats(run: dict, reference: dict) -> dict:
    """``run`` against ``reference`` (``{episode key: success}``) on the episodes both hold: ``episodes``,
    ``success`` (% of ``run``), ``delta`` (success points), ``only_run``, ``only_reference`` and McNemar's ``p``;
    ``success`` and ``delta`` are None where no episode is shared."""
    shared = run.keys() & reference.keys()
    only_run, only_ref, p = mcnemar_p(run, reference)
    return {
        "episodes": len(shared),
        "success": 100 * sum(run[k] for k in shared) / len(shared) if shared else None,
        "delta": 100 * (only_run - only_ref) / len(shared) if shared else None,
        "only_run": only_run, "only_reference": only_ref, "p": p,
    }  # fmt: skip


def results_by_row(paths: list[str | Path], *, execute_steps: int, left_out: list[str] | None = None) -> dict:
    """``{(row, seed): result}`` of the clean results in committed reports ``paths`` (missing ones skipped) evaluated
    at receding horizon ``execute_steps``; a (row, seed) in two reports keeps the one with more episodes (the first
    where as many). A result at another horizon is left out: its "report: name (horizon)" goes to ``left_out``."""
    found: dict[tuple[str, int], dict] = {}
    for path in map(Path, paths):
        for result in json.loads(path.read_text())["results"] if path.is_file() else []:
            if "none" not in result["summary"]:
                continue
            executed = result.get("execute_steps")
            if executed != execute_steps:
                made = f"{executed} actions" if executed else "half the chunk, before the setting was recorded"
                if left_out is not None:
                    left_out.append(f"{path.stem}: {result['name']} ({made})")
                continue
            key, episodes = (result["name"].split(" (seed ")[0], result["seed"]), result["summary"]["none"]["episodes"]
            if key not in found or episodes > found[key]["summary"]["none"]["episodes"]:
                found[key] = result
    return found


def p_text(p: float, digits: str = ".3f") -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:{digits}}"


def paired_delta(run: dict, reference: dict, perturbation: str = "none") -> str:
    """``run`` minus ``reference`` in success points on their shared episodes, with the McNemar p-value."""
    stats = paired_stats(outcomes(run, perturbation), outcomes(reference, perturbation))
    if run is reference or not stats["episodes"]:
        return "—"
    p = stats["p"]
    return (f"{stats['delta']:+.1f} ({stats['only_run']}/{stats['only_reference']}, {p_text(p)}"
            f"{'' if p < 0.05 else ', within noise'})")  # fmt: skip


def markdown_table(results: list[dict]) -> str:
    """One row per run: success per perturbation (ID first), episodes, mean length, policy ms/step, and the
    paired difference from the first run (dense; its row of the same training seed where the rows carry seeds and
    it has one) with its McNemar p-value. Where the evaluations carry the
    maximum reward (ALOHA), also the lenient success (max reward >= 0.5) and the mean max reward ("env reward"),
    overall and per task, in distribution; where they carry the lifted objects (LIBERO), the share of episodes that
    lifted the task's target and that lifted another object."""
    perturbations = []
    for r in results:
        perturbations += [p for p in r["summary"] if p not in perturbations]
    tasks = results[0]["tasks"] if results else []
    # the interval, Δ and length columns: in distribution, or the first shift where only shifts were evaluated
    main = "none" if "none" in perturbations or not perturbations else perturbations[0]
    head = ["run", "reducer", "tokens/view", *[f"SR {p}" for p in perturbations]]
    if "none" in perturbations:
        head += [f"{t} (none)" for t in tasks]
    rewards = any("mean_max_reward" in r["summary"].get("none", {}) for r in results)
    if rewards:
        head += ["SR max reward ≥ 0.5 (none)", "mean max reward (none)"]
        head += [f"{t} max reward (none)" for t in tasks]
    lifts = any("target_lifted_rate" in r["summary"].get("none", {}) for r in results)
    if lifts:
        head += ["lifted the target (none)", "lifted another object (none)"]
    reference = results[0].get("name", "first").split(" ")[0] if results else "first"
    references = [r for r in results if _base(r) == reference]  # its rows, one per training seed
    by_seed = {r["seed"]: r for r in reversed(references) if "seed" in r}  # the first row of a seed wins
    same_seed = "same training seed, " if len({r.get("seed") for r in references}) > 1 else ""
    head += [f"95% CI ({main})", f"Δ vs {reference} ({main}; {same_seed}only this/only ref)",
             "episodes/number", f"mean len ({main})", "policy ms/step"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.get("name", r["reducer"]), r["reducer"], str(r["visual_tokens_per_view"])]
        for p in perturbations:
            s = r["summary"].get(p)
            cells.append("—" if s is None else f"{100 * s['success_rate']:.1f}")
        if "none" in perturbations:  # a run evaluated under shifts alone (a camera seed) has no clean episodes
            clean = r["per_task"].get("none", {})
            cells += [f"{100 * clean[t]['success_rate']:.0f}" if t in clean else "—" for t in tasks]
        if rewards:
            cells += _reward_cells(r, tasks)
        if lifts:
            none = r["summary"].get("none", {})
            cells += [f"{100 * none[k]:.1f}" if k in none else "—" for k in ("target_lifted_rate", "other_lifted_rate")]
        first = r["summary"].get(main) or next(iter(r["summary"].values()))
        low, high = wilson_interval(round(first["success_rate"] * first["episodes"]), first["episodes"])
        cells.append(f"{100 * low:.0f}–{100 * high:.0f}")
        # the reference's own seeds against its first row (the spread between seeds), the others against its same seed
        same = None if _base(r) == reference or "seed" not in r else by_seed.get(r["seed"])
        cells.append(paired_delta(r, same or results[0], main))
        per_number = sorted({v["episodes"] for per in r["per_task"].values() for v in per.values()})
        cells += [
            f"{'/'.join(map(str, per_number))} per task",
            f"{first['mean_length']:.1f}",
            f"{first['policy_ms_per_step']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _base(result: dict) -> str:
    """A row's run without its seed suffix: ``dense (seed 1)`` -> ``dense``."""
    return result.get("name", "").split(" ")[0]


def _reward_cells(result: dict, tasks: list[str]) -> list[str]:
    """Lenient success, mean max reward, and per task the mean max reward (in distribution; — where absent)."""
    summary, per_task = result["summary"].get("none", {}), result["per_task"].get("none", {})
    if "mean_max_reward" not in summary:
        return ["—"] * (2 + len(tasks))
    cells = [f"{100 * summary['lenient_success_rate']:.1f}", f"{summary['mean_max_reward']:.2f}"]
    return cells + [f"{per_task[t]['mean_max_reward']:.2f}" if t in per_task else "—" for t in tasks]


def success_by_tokens(results: list[dict], *, perturbation: str = "none") -> dict[str, list[tuple[int, list]]]:
    """``{label: [(tokens per view, [success % of each run]), ...]}`` sorted by tokens: one point per reducer and
    K, its runs (training seeds) gathered, since a row's label names the reducer, not the seed."""
    lines: dict[str, dict[int, list[float]]] = {}
    for r in results:
        s = r["summary"].get(perturbation)
        if s is not None:
            label = r.get("label", r["reducer"])
            points = lines.setdefault(label, {})
            points.setdefault(r["visual_tokens_per_view"], []).append(100 * s["success_rate"])
    return {label: sorted(points.items()) for label, points in sorted(lines.items())}


def plot_success_vs_tokens(results: list[dict], path: str | Path, *, perturbation: str = "none") -> Path:
    """Success rate vs visual tokens per view (log scale), one line per reducer through the mean of its runs (the
    training seeds), each run a faint dot, the bar their range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.0), dpi=110)
    colours = plt.get_cmap("tab20").colors
    for i, (label, points) in enumerate(success_by_tokens(results, perturbation=perturbation).items()):
        colour, marker = colours[(2 * i) % 20 + (i // 10)], "osD^v<>ph*"[i % 10]
        xs = [k for k, _ in points]
        means = np.array([np.mean(v) for _, v in points])
        spread = [means - [min(v) for _, v in points], [max(v) for _, v in points] - means]  # [2, points]
        runs = max(len(v) for _, v in points)
        ax.errorbar(xs, means, yerr=spread, marker=marker, color=colour, capsize=3, linestyle="-" if len(xs) > 1
                    else "none", label=label + (f" (≤{runs} runs)" if runs > 1 else ""))  # fmt: skip
        for k, v in points:
            ax.scatter([k] * len(v), v, color=colour, alpha=0.35, s=12, zorder=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("visual tokens per view")
    ax.set_ylabel(f"success rate (%), {perturbation}")
    ax.set_title("mean of each reducer's runs (seeds); dots: the runs, bars: their range", fontsize=8)
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_points(views: np.ndarray, coords: np.ndarray, *, patch_size: int, radius: int = 1) -> np.ndarray:
    """``views uint8 [V, S, S, 3]``, ``coords [V, K, 2]`` (align-corners patch frame) -> views side by side."""
    views = views.copy()
    size = views.shape[1]
    for v in range(len(views)):
        # x = 0 is the centre of the first patch column, x = 1 the centre of the last.
        pixels = patch_size / 2 + coords[v] * (size - patch_size)
        for x, y in np.rint(pixels).astype(int):
            views[v, max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1] = (
                POINT_COLOURS[v % 2]
            )
    return np.concatenate(list(views), axis=1)  # [S, V*S, 3]


def points_figure(
    looks: dict[str, list[tuple[int, np.ndarray, np.ndarray]]],
    path: str | Path,
    *,
    patch_size: int,
    title: str = "",
) -> Path:
    """One row per task, one column per time step: both views with the sampled points (``grids.bench.analysis.looks``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(looks), max(len(v) for v in looks.values())
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 1.75 * rows + 0.4), dpi=110, squeeze=False, layout="constrained"
    )
    for r, (task, frames) in enumerate(looks.items()):
        for c in range(cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(frames):
                step, views, coords = frames[c]
                ax.imshow(draw_points(views, coords, patch_size=patch_size, radius=2))
                ax.set_title(f"{task}  t={step}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save_as_is(fig, path)


def retention_figure(examples: dict, path: str | Path, *, patch_size: int, title: str = "") -> Path:
    """One row per task, one column per view: the frame, its information-retention map over it (bright: a
    point reads a feature like this cell's) and the points (``point_statistics(examples=...)``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(examples), len(next(iter(examples.values()))[0])
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.0 * cols, 2.1 * rows + 0.6), dpi=110, squeeze=False, layout="constrained"
    )
    for r, (task, (views, maps, coords)) in enumerate(examples.items()):
        for v in range(cols):
            ax, size = axes[r, v], views.shape[1]
            ax.imshow(draw_points(views[v : v + 1], coords[v : v + 1], patch_size=patch_size, radius=2))
            image = ax.imshow(maps[v], cmap="magma", vmin=0, vmax=1, alpha=0.55, extent=(0, size, size, 0))
            ax.set_title(f"{task} v{v}: {maps[v].mean():.2f}", fontsize=6)
            ax.axis("off")
    fig.colorbar(image, ax=axes, orientation="horizontal", fraction=0.5 / (2.1 * rows + 0.6), aspect=30,
                 label="retention: max cosine of a cell's feature to a read feature")  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=8)
    return _save_as_is(fig, path)


def _save_as_is(fig, path: str | Path) -> Path:
    """Like ``_save`` for a figure that lays itself out (constrained layout)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_gif(
    recording: dict, path: str | Path, *, patch_size: int, max_points: int = 64, fps: int = 10
) -> Path:
    """A rollout GIF: both views side by side with the reducer's points (dense: not drawn, too many)."""
    import imageio.v2 as imageio

    frames = recording["frames"]  # [T, V, S, S, 3]
    coords = recording["coords"]  # [T, V, K, 2]
    draw = coords.shape[2] <= max_points
    images = [
        draw_points(f, c, patch_size=patch_size) if draw else np.concatenate(list(f), axis=1)
        for f, c in zip(frames, coords, strict=False)
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, images[::2], duration=2 / fps, loop=0)
    return path


def write_report(
    results: list[dict], out_prefix: str | Path, *, command: str = "", notes: str = "", meta: dict | None = None
) -> dict[str, Path]:
    """``<prefix>.json``, ``<prefix>.md`` (table + command), ``<prefix>.png`` (plot); ``meta`` (the spec that made
    the report, its hash) leads the JSON."""
    prefix = Path(out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    clean = [{k: v for k, v in r.items() if k != "recording"} for r in results]
    json_path = prefix.with_suffix(".json")
    json_path.write_text(json.dumps({**(meta or {}), "command": command, "notes": notes, "results": clean}, indent=1))
    md = [f"# {prefix.name}\n"]
    if command:
        md.append(f"Command: `{command}`\n")
    if notes:
        md.append(notes.strip() + "\n")
    md.append(markdown_table(clean))
    md_path = prefix.with_suffix(".md")
    md_path.write_text("\n".join(md))
    png = plot_success_vs_tokens(clean, prefix.with_suffix(".png"))
    return {"json": json_path, "md": md_path, "png": png}
