"""Independent fits in worker processes: results in order, and no deadlock inside a pool."""

from __future__ import annotations

import functools
import multiprocessing
import operator
from concurrent.futures import ProcessPoolExecutor

from rollout.common.parallel import in_worker_process, run_tasks


def _square(x: int) -> int:
    return x * x


def _fits_inside_a_worker(n: int) -> tuple[bool, list[int]]:
    tasks = [functools.partial(_square, i) for i in range(n)]
    return in_worker_process(), run_tasks(tasks, processes=2)


def test_results_come_back_in_task_order_from_two_processes() -> None:
    tasks = [functools.partial(operator.mul, i, 3) for i in range(7)]
    assert run_tasks(tasks, processes=2) == [0, 3, 6, 9, 12, 15, 18]
    assert run_tasks(tasks, processes=1) == run_tasks(tasks, processes=2)


def test_a_forked_pool_worker_runs_its_fits_in_turn_instead_of_hanging() -> None:
    """The parent starts the two-process pool first; a worker forked afterwards inherits that
    pool's state without its threads. Before the fix the worker's fits waited forever (the
    coverage simulations, which use a forked pool, hung in CI)."""
    assert not in_worker_process()
    run_tasks([functools.partial(_square, i) for i in range(3)], processes=2)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(_fits_inside_a_worker, 4) for _ in range(2)]
        results = [f.result(timeout=120) for f in futures]
    assert results == [(True, [0, 1, 4, 9])] * 2
