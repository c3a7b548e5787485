"""Round a table of fractional targets to whole counts: unbiased, and every margin within one.

Exact per-stratum arm counts for an allocation are rarely whole (7 customers at 50:50 is 3.5 each).
Rounding them by a fixed rule (largest remainder, the first arm) would give one arm the extra
customer more often than its share, so a customer's chance of treatment would depend on the
stratum, and totals over many strata would drift. Dependent rounding on the bipartite graph of
strata and arms (Gandhi, Khuller, Parthasarathy and Srinivasan, "Dependent rounding and its
applications to approximation algorithms", J. ACM 53(3), 2006) avoids both:

* every cell is rounded up with probability equal to its fractional part, so the expected count
  is exactly the target and every customer's chance of each arm is exactly the allocation;
* every row (a stratum) sums to its whole total, and every column (an arm's total over strata)
  is its target rounded down or up.

The coin flips come from a caller-supplied function, here the keyed hash of the salt and the step
number, so the rounding is reproducible from the salt. Arithmetic is exact (fractions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

Edge = tuple[int, int]
Vertex = tuple[str, int]


def dependent_round(targets: Sequence[Sequence[Fraction]],
                    coin: Callable[[int], float]) -> list[list[int]]:
    """Round a rows-by-columns table of non-negative targets, keeping margins within one.

    ``coin(k)`` returns the k-th uniform in [0, 1). Each cell becomes ``floor`` or ``ceil`` of its
    target, with ``E[cell] = target``; each row and column total becomes its target total
    rounded down or up (exactly when it is whole).

    >>> half = Fraction(1, 2)
    >>> dependent_round([[half, half], [half, half]], coin=lambda k: 0.25)
    [[1, 0], [0, 1]]
    """
    n_rows = len(targets)
    n_cols = len(targets[0]) if n_rows else 0
    counts = [[int(t) for t in row] for row in targets]  # floor: targets are non-negative
    frac: dict[Edge, Fraction] = {(r, c): Fraction(targets[r][c]) - counts[r][c]
            for r in range(n_rows) for c in range(n_cols)
            if Fraction(targets[r][c]) - counts[r][c] > 0}
    step = 0
    while frac:
        edges = _cycle_or_maximal_path(frac)
        up = edges[0::2]
        down = edges[1::2]
        alpha = min([1 - frac[e] for e in up] + [frac[e] for e in down])
        beta = min([frac[e] for e in up] + [1 - frac[e] for e in down])
        if Fraction(coin(step)) < beta / (alpha + beta):
            shift = alpha
        else:
            shift = -beta
        step += 1
        for e in up:
            frac[e] += shift
        for e in down:
            frac[e] -= shift
        for e in edges:
            if frac[e] == 1:
                counts[e[0]][e[1]] += 1
            if frac[e] in (0, 1):
                del frac[e]
    return counts


def _neighbours(frac: dict[Edge, Fraction]) -> dict[Vertex, list[Edge]]:
    graph: dict[Vertex, list[Edge]] = {}
    for edge in sorted(frac):
        graph.setdefault(("row", edge[0]), []).append(edge)
        graph.setdefault(("col", edge[1]), []).append(edge)
    return graph


def _other_end(vertex: Vertex, edge: Edge) -> Vertex:
    return ("col", edge[1]) if vertex[0] == "row" else ("row", edge[0])


def _walk(graph: dict[Vertex, list[Edge]], start: Vertex) -> tuple[list[Edge], bool]:
    """Walk from ``start`` along unused edges until a vertex repeats (cycle) or the walk sticks.

    Returns the edges of the cycle (if one closed) or of the whole walk, and whether it is a cycle.
    """
    visited = {start: 0}
    path: list[Edge] = []
    vertex = start
    while True:
        used = path[-1] if path else None
        nxt = next((e for e in graph[vertex] if e != used), None)
        if nxt is None:
            return path, False
        path.append(nxt)
        vertex = _other_end(vertex, nxt)
        if vertex in visited:
            return path[visited[vertex]:], True
        visited[vertex] = len(path)


def _cycle_or_maximal_path(frac: dict[Edge, Fraction]) -> list[Edge]:
    """Edges of a cycle, or of a path whose two ends each touch a single fractional edge."""
    graph = _neighbours(frac)
    start = ("row", min(frac)[0])
    edges, is_cycle = _walk(graph, start)
    if is_cycle:
        return edges
    end = start
    for edge in edges:
        end = _other_end(end, edge)
    edges, _ = _walk(graph, end)  # from one end of a maximal walk: a cycle or a maximal path
    return edges
