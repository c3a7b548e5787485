"""Independent fits shared between worker processes, results in task order.

The analysis has many fits that do not depend on each other (the CATE models of every outcome,
the nuisance models of every fold, the refutation refits). Each is seeded by its own arguments,
so running them in separate processes gives exactly the numbers of running them one after
another; only the wall time changes. Processes and not threads: each fit is a whole model, so
the workers never wait on each other, whereas the boosted trees' own threads synchronise at
every tree level and crawl when the machine's cores are shared with other jobs (a 150-tree fit
of 20,000 customers took 1.4 s on one thread and 17 s on two at load average 6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: Worker processes for independent fits: both cores of the 2-core machines the tool targets.
FIT_PROCESSES = 2


def in_worker_process() -> bool:
    """Whether this process was started by :mod:`multiprocessing` (a pool's worker, forked or
    spawned): its fits then run one after another. A worker already has its share of the
    cores, so a second pool inside it only oversubscribes them; and a worker forked from a
    process that had started a pool inherits that pool's bookkeeping without its threads, so
    submitting to it waits forever.

    >>> in_worker_process()
    False
    """
    import multiprocessing

    return multiprocessing.parent_process() is not None


def run_tasks(tasks: Sequence[Callable[[], Any]], processes: int = 1,
              progress: Callable[[int], None] | None = None) -> list[Any]:
    """Call every task, in ``processes`` worker processes when more than one; results in task
    order either way. ``progress(i)`` is called as the i-th result (0-based) arrives. Tasks run
    in worker processes must be picklable (module-level functions and ``functools.partial``).

    >>> run_tasks([lambda: 1, lambda: 2])
    [1, 2]
    """
    if processes <= 1 or len(tasks) <= 1 or in_worker_process():
        out = []
        for i, task in enumerate(tasks):
            if progress:
                progress(i)
            out.append(task())
        return out
    from joblib import Parallel, delayed

    out = []
    parallel = Parallel(n_jobs=min(processes, len(tasks)), backend="loky",
                        return_as="generator")
    for i, value in enumerate(parallel(delayed(task)() for task in tasks)):
        if progress:
            progress(i)
        out.append(value)
    return out
