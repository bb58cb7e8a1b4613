"""grids.bench.pool: how episodes are cut into worker jobs, the simulator a worker keeps open, and a journal read
by an evaluation of other perturbations."""

from __future__ import annotations

import json

import pytest

from grids.bench import pool


def test_a_shift_s_two_states_run_as_one_job_per_task_unless_workers_would_idle():
    tasks = [f"libero_object/{i}" for i in range(10)]
    jobs = pool.plan_jobs(tasks, ["camera@1"], [0, 1], workers=2, record=False)
    assert [job[2] for job in jobs] == [[0, 1]] * 10  # each (task, shift) builds its simulator once
    assert [job[2] for job in pool.plan_jobs(tasks[:1], ["none"], [0, 1], workers=2, record=False)] == [[0], [1]]
    fifty = pool.plan_jobs(tasks, ["none"], list(range(50)), workers=2, record=False)
    assert {len(job[2]) for job in fifty} == {pool.JOB_EPISODES}
    twenty = pool.plan_jobs(tasks, ["none"], list(range(20)), workers=2, record=False)
    assert {tuple(j[2]) for j in twenty} <= {tuple(j[2]) for j in fifty}  # the first 20 of 50 are whole jobs


def test_a_worker_keeps_the_simulator_of_its_current_pair_and_closes_the_one_before(monkeypatch):
    built, closed = [], []

    class Env:
        def __init__(self, key):
            self.key = key
            built.append(key)

        def close(self):
            closed.append(self.key)

    monkeypatch.setattr(pool, "policy_env", lambda policy, task, pert, max_steps: Env((task, pert)))
    monkeypatch.setattr(pool, "_WORKER", {"policy": None, "max_steps": None})
    assert pool._env("t/0", "none") is pool._env("t/0", "none")  # the next job of the same pair: no rebuild
    pool._env("t/0", "camera@1")
    pool._env("t/1", "camera@1")
    assert built == [("t/0", "none"), ("t/0", "camera@1"), ("t/1", "camera@1")]
    assert closed == built[:2]  # one simulator open at a time (LIBERO's hold ~0.6 GB each)


def test_a_journal_of_other_perturbations_gives_the_shared_ones_and_keeps_the_rest(tmp_path):
    header = {"policy": "p", "episodes": 2, "perturbations": ["none", "noise"], "max_steps": 3}
    journal = tmp_path / "eval.journal.jsonl"
    episodes = [{"task": "t", "perturbation": p, "seed": s, "success": True} for p in ("none", "noise") for s in (0, 1)]
    journal.write_text("\n".join(json.dumps(x) for x in [header, *episodes]) + "\n")
    other = {**header, "perturbations": ["noise", "light"]}
    assert pool.read_journal(journal, other) == episodes[2:]
    first, *lines = journal.read_text().splitlines()
    assert json.loads(first)["perturbations"] == ["none", "noise", "light"]  # what it holds, and may hold
    assert [json.loads(line) for line in lines] == episodes  # nothing discarded
    assert pool.read_journal(journal, header) == episodes  # the first evaluation finds all of its own again
    with pytest.raises(ValueError, match="journals another evaluation"):
        pool.read_journal(journal, {**header, "episodes": 3})


def test_a_line_cut_by_a_kill_is_dropped_so_the_next_episode_gets_a_line_of_its_own(tmp_path):
    header = {"policy": "p", "episodes": 3, "perturbations": ["none"], "max_steps": 3}
    journal = tmp_path / "eval.journal.jsonl"
    episodes = [{"task": "t", "perturbation": "none", "seed": s, "success": True} for s in range(3)]
    journal.write_text(json.dumps(header) + "\n" + json.dumps(episodes[0]) + "\n" + json.dumps(episodes[1])[:9])
    assert pool.read_journal(journal, header) == episodes[:1]
    pool.append_journal(journal, episodes[1:2])  # the resumed run's first episode
    journal.write_text(journal.read_text() + json.dumps(episodes[2])[:5])  # and a second kill, mid-line
    assert pool.read_journal(journal, header) == episodes[:2]  # the episode after the first cut is kept
    pool.append_journal(journal, episodes[2:])
    assert pool.read_journal(journal, header) == episodes
