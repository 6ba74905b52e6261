"""Rank labelled demands against provider documents and measure the ranking (``huiqi evaluate``).

The ranking is the service's own (``matcher.index``): the documents become ProviderInput objects,
the demands DemandInput objects, one provider index is fitted and every provider that passes the
gate is ranked by :func:`matcher.index.top_candidates`, the call behind match lists and rounds. So
``huiqi evaluate`` measures exactly what staff see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import scipy.sparse as sp

from matcher.errors import MatcherError
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks
from matcher.index import RankingConfig, demand_vectors, fit_index, top_candidates
from matcher.texts import tokenize_demands
from matcher.types import DemandInput, ProviderInput

__all__ = [
    "LabelledDemand",
    "ProviderDocument",
    "demand_inputs",
    "evaluate",
    "provider_inputs",
    "rank",
]


@dataclass(frozen=True)
class ProviderDocument:
    """One document of one provider (an abstract, an expert's paper, a branch's scope)."""

    provider_id: str
    name: str
    text: str


@dataclass(frozen=True)
class LabelledDemand:
    """A demand with the ids of its correct providers (``gold``; empty when unlabelled)."""

    demand_id: str
    title: str
    description: str
    gold: frozenset[str] = frozenset()


def provider_inputs(documents: Sequence[ProviderDocument]) -> tuple[list[str], list[ProviderInput]]:
    """Group documents by provider, in the order of each provider's first document.

    Parameters
    ----------
    documents : sequence of ProviderDocument

    Returns
    -------
    provider_ids : list of str
        Provider ids in column order.
    providers : list of ProviderInput
        Their inputs (``id`` is the column).
    """
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for document in documents:
        grouped.setdefault(document.provider_id, []).append(document.text)
        names.setdefault(document.provider_id, document.name)
    ids = list(grouped)
    providers = [ProviderInput(column, names[pid], 1, tuple(grouped[pid])) for column, pid in enumerate(ids)]
    return ids, providers


def demand_inputs(demands: Sequence[LabelledDemand], n_jobs: int = 2) -> list[DemandInput]:
    """Tokenize the demands' titles and descriptions as intake does.

    Parameters
    ----------
    demands : sequence of LabelledDemand
    n_jobs : int
        Processes for tokenizing.

    Returns
    -------
    list of DemandInput
    """
    texts = [{"title": d.title, "description": d.description} for d in demands]
    tokens = tokenize_demands(texts, n_jobs=n_jobs)
    return [DemandInput(terms, text) for terms, text in zip(tokens, texts, strict=True)]


def rank(
    documents: Sequence[ProviderDocument],
    demands: Sequence[LabelledDemand],
    config: RankingConfig | None = None,
) -> tuple[sp.csr_matrix, list[str]]:
    """Scores demands x providers (every provider that passes the gate), and the provider ids.

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Provider documents, several per provider allowed.
    demands : sequence of LabelledDemand
        The demands (``gold`` is not used).
    config : RankingConfig, optional
        The ranking (the service's by default, adjusted to the number of providers).

    Returns
    -------
    scores : scipy.sparse.csr_matrix, shape (n_demands, n_providers)
    provider_ids : list of str
    """
    provider_ids, providers = provider_inputs(documents)
    if not providers:
        raise MatcherError("cannot rank against zero providers")
    index = fit_index(providers, config, n_jobs=2)
    vectors = demand_vectors(index, demand_inputs(demands))
    return top_candidates(index, vectors, index.n_providers), provider_ids


def evaluate(
    documents: Sequence[ProviderDocument],
    demands: Sequence[LabelledDemand],
    config: RankingConfig | None = None,
) -> Metrics:
    """Rank every demand against every provider and measure where its gold providers land.

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Provider documents.
    demands : sequence of LabelledDemand
        Labelled demands; every gold id must name a provider of ``documents``.
    config : RankingConfig, optional
        The ranking (the service's by default).

    Returns
    -------
    Metrics
        acc@1, hit@5, MRR and macro acc@1 with 95 % bootstrap intervals.
    """
    scores, provider_ids = rank(documents, demands, config)
    column = {pid: i for i, pid in enumerate(provider_ids)}
    unknown = sorted({g for d in demands for g in d.gold} - column.keys())
    if unknown:
        raise MatcherError(f"gold provider id(s) without documents: {', '.join(unknown)}")
    gold = [frozenset(column[g] for g in d.gold) for d in demands]
    groups = [min(g) if g else 0 for g in gold]
    return metrics_from_ranks(gold_ranks(scores, gold), groups)
