"""Why a demand was left without a provider, and which capacity increase would serve whom, in Chinese.

The reasons and relaxations are ``matcher.diagnose``'s (from the round's ``MatchResult``); this module
names the demands and providers and words the reasons. The threshold cited is the one a round's
``min_score`` sets on the score a match list shows (its 匹配度 ÷ 100).
"""

from collections.abc import Sequence
from typing import Any

from matcher import ProviderIndex, Relaxation, Unserved

MESSAGES = {
    "no_candidate": "没有匹配度达到 {threshold} 的服务方",
    "forbidden": "所有候选服务方均被禁止（工作人员禁止、企业拒绝或此前已拒绝）",
    "capacity": "所有候选服务方本轮容量已满",
}


def describe(
    unserved: Sequence[Unserved],
    relaxations: Sequence[Relaxation],
    threshold: float,
    demand_ids: Sequence[int],
    index: ProviderIndex,
) -> dict[str, Any]:
    """The diagnosis stored on a round: reasons per unserved demand and the capacity relaxations."""
    entries = [
        {
            "demand_id": demand_ids[item.row],
            "reason": item.reason,
            "message": MESSAGES[item.reason].format(threshold=round(100 * threshold)),
            "candidates": item.candidates,
        }
        for item in unserved
    ]
    return {
        "threshold": threshold,
        "unserved": entries,
        "reason_counts": {key: sum(1 for u in unserved if u.reason == key) for key in MESSAGES},
        "relaxations": [_relaxation(item, demand_ids, index) for item in relaxations],
    }


def _relaxation(item: Relaxation, demand_ids: Sequence[int], index: ProviderIndex) -> dict[str, Any]:
    return {
        "provider_id": int(index.ids[item.col]),
        "provider_name": index.names[item.col],
        "capacity": item.capacity,
        "capacity_price": round(item.price, 6),
        "gain": round(item.gain, 6),
        "serves": [{"demand_id": demand_ids[row], "gain": round(gain, 6)} for row, gain in item.serves],
        "waiting_demands": item.waiting,
    }


def empty_round(message: str) -> dict[str, Any]:
    """The diagnosis of a round that had nothing to match: the reason, nothing unserved."""
    return {
        "message": message,
        "unserved": [],
        "reason_counts": dict.fromkeys(MESSAGES, 0),
        "relaxations": [],
    }
