"""Why a demand was left without a provider, and which capacity increase would serve whom.

Each unserved demand gets one reason: no candidate scored above the threshold; every candidate is
forbidden (staff forbids, enterprise refusals, earlier rejections); or every allowed candidate is at
capacity. For the last case the solver's certificate prices each full provider's capacity
(``provider_price``: the most one more unit can add to the objective); raising provider j's capacity by
one lets it take its best unserved candidate i, a feasible gain of ``affinity[i, j]``. Relaxations are
listed by that gain, the cheapest way to serve one more demand first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from matcher import Assignment

if TYPE_CHECKING:
    from api.matching.pipeline import RoundRun

MESSAGES = {
    "no_candidate": "没有相似度达到阈值 {threshold} 的服务方",
    "forbidden": "所有候选服务方均被禁止（工作人员禁止、企业拒绝或此前已拒绝）",
    "capacity": "所有候选服务方本轮容量已满",
}
RELAXATIONS_SHOWN = 20
DEMANDS_PER_RELAXATION = 5


def diagnose(run: RoundRun, result: Assignment) -> dict[str, Any]:
    """Reasons per unserved demand and the capacity relaxations ranked by gain."""
    assert run.problem is not None
    assert run.index is not None
    problem = run.problem
    scores = sp.csr_matrix(problem.affinity)
    forbidden = {(int(d), int(p)) for d, p in problem.forbidden}
    full = result.provider_counts >= problem.capacity
    unserved, waiting = [], {}
    for row in np.flatnonzero(result.demand_counts == 0):
        cols = scores.indices[scores.indptr[row] : scores.indptr[row + 1]]
        allowed = [int(c) for c in cols if (int(row), int(c)) not in forbidden]
        reason = "no_candidate" if cols.size == 0 else "forbidden" if not allowed else "capacity"
        unserved.append(_entry(run, int(row), reason, cols.size))
        if reason == "capacity":
            waiting[int(row)] = [c for c in allowed if full[c]]
    return {
        "threshold": run.scope.min_score,
        "unserved": unserved,
        "reason_counts": {key: sum(1 for u in unserved if u["reason"] == key) for key in MESSAGES},
        "relaxations": _relaxations(run, result, scores, waiting),
    }


def _entry(run: RoundRun, row: int, reason: str, n_candidates: int) -> dict[str, Any]:
    message = MESSAGES[reason].format(threshold=run.scope.min_score)
    return {
        "demand_id": int(run.demand_ids[row]),
        "reason": reason,
        "message": message,
        "candidates": n_candidates,
    }


def _relaxations(
    run: RoundRun, result: Assignment, scores: sp.csr_matrix, waiting: dict[int, list[int]]
) -> list[dict[str, Any]]:
    assert run.index is not None
    assert run.problem is not None
    by_provider: dict[int, list[tuple[float, int]]] = {}
    for row, providers in waiting.items():
        for col in providers:
            by_provider.setdefault(col, []).append((float(scores[row, col]), row))
    out: list[dict[str, Any]] = []
    for col, demands in by_provider.items():
        demands.sort(reverse=True)
        out.append(
            {
                "provider_id": int(run.index.ids[col]),
                "provider_name": run.index.names[col],
                "capacity": int(run.problem.capacity[col]),
                "capacity_price": round(float(result.certificate.provider_price[col]), 6),
                "gain": round(demands[0][0], 6),
                "serves": [
                    {"demand_id": int(run.demand_ids[row]), "gain": round(gain, 6)}
                    for gain, row in demands[:DEMANDS_PER_RELAXATION]
                ],
                "waiting_demands": len(demands),
            }
        )
    out.sort(key=lambda item: (-float(item["gain"]), int(item["provider_id"])))
    return out[:RELAXATIONS_SHOWN]
