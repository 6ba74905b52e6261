"""Rank labelled demands against provider documents and measure the ranking (``huiqi evaluate``).

The ranking is the service's own (``matcher.index``): the documents become ProviderInput objects,
the demands DemandInput objects, one provider index is fitted and every provider that passes the
gate is ranked by :func:`matcher.index.top_candidates`, the call behind match lists and rounds. So
``huiqi evaluate`` measures exactly what staff see. Staff decisions (``StaffDecision``) join the
index as they do in the service (``matcher.feedback``, ``matcher.index.with_feedback``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import scipy.sparse as sp

from features.encoder import Encoder, demand_query_text
from matcher.dense import VectorStore, encode_cached, named_chunks
from matcher.errors import MatcherError
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks
from matcher.feedback import FeedbackComponent, FeedbackConfig, decision, feedback_component
from matcher.index import RankingConfig, demand_vectors, fit_index, top_candidates, with_feedback
from matcher.texts import tokenize_demands
from matcher.types import DemandInput, ProviderInput

__all__ = [
    "LabelledDemand",
    "ProviderDocument",
    "StaffDecision",
    "demand_inputs",
    "encode_inputs",
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


@dataclass(frozen=True)
class StaffDecision:
    """A staff decision on one pairing of the ranked demands: accepted (or 对接, 签约) or rejected."""

    demand_id: str
    provider_id: str
    accepted: bool


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
    return [
        DemandInput(terms, text, key=row) for row, (terms, text) in enumerate(zip(tokens, texts, strict=True))
    ]


def encode_inputs(
    providers: Sequence[ProviderInput],
    demands: Sequence[DemandInput],
    encoder: Encoder,
    store: VectorStore | None = None,
) -> tuple[list[ProviderInput], list[DemandInput]]:
    """The same inputs with their sentence vectors, as the service stores them after intake.

    Provider chunks are ``matcher.dense.named_chunks`` of each provider's documents (passages), a
    demand's vector encodes its title and description (a query).

    Parameters
    ----------
    providers : sequence of ProviderInput
    demands : sequence of DemandInput
    encoder : Encoder
        An available encoder.
    store : VectorStore, optional
        Vectors kept from earlier runs (only missing texts are encoded).

    Returns
    -------
    providers, demands : list of ProviderInput, list of DemandInput
    """
    chunks = [named_chunks(p.name, p.documents) for p in providers]
    flat = encode_cached(encoder, [c for cs in chunks for c in cs], "passage", store)
    vectors = iter(flat)
    with_chunks = [
        replace(p, chunks=tuple((c, next(vectors)) for c in cs))
        for p, cs in zip(providers, chunks, strict=True)
    ]
    texts = [demand_query_text(d.texts.get("title") or "", d.texts.get("description")) for d in demands]
    encoded = encode_cached(encoder, texts, "query", store)
    return with_chunks, [replace(d, vector=v) for d, v in zip(demands, encoded, strict=True)]


def rank(
    documents: Sequence[ProviderDocument],
    demands: Sequence[LabelledDemand],
    config: RankingConfig | None = None,
    encoder: Encoder | None = None,
    store: VectorStore | None = None,
    decisions: Sequence[StaffDecision] = (),
    feedback: FeedbackConfig | None = None,
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
    encoder : Encoder, optional
        The sentence encoder; without one (or with the null one) the ranking is sparse only.
    store : VectorStore, optional
        Where encoded texts are kept between runs.
    decisions : sequence of StaffDecision
        Staff decisions on pairings of ``demands`` (learning switched on); they need the encoder. A
        demand's own decisions never move its own ranking.
    feedback : FeedbackConfig, optional
        How much decisions weigh (the service's by default).

    Returns
    -------
    scores : scipy.sparse.csr_matrix, shape (n_demands, n_providers)
    provider_ids : list of str
    """
    provider_ids, providers = provider_inputs(documents)
    if not providers:
        raise MatcherError("cannot rank against zero providers")
    inputs = demand_inputs(demands)
    if encoder is not None and encoder.available:
        providers, inputs = encode_inputs(providers, inputs, encoder, store)
    index = fit_index(providers, config, n_jobs=2)
    if decisions:
        index = with_feedback(index, _feedback(decisions, demands, inputs, provider_ids, feedback))
    vectors = demand_vectors(index, inputs)
    return top_candidates(index, vectors, index.n_providers), provider_ids


def _feedback(
    decisions: Sequence[StaffDecision],
    demands: Sequence[LabelledDemand],
    inputs: Sequence[DemandInput],
    provider_ids: Sequence[str],
    config: FeedbackConfig | None,
) -> FeedbackComponent | None:
    """The decisions as the index's component (rows of ``demands`` as the demands' ids)."""
    row = {d.demand_id: i for i, d in enumerate(demands)}
    column = {pid: i for i, pid in enumerate(provider_ids)}
    unknown = sorted({d.demand_id for d in decisions} - row.keys()) + sorted(
        {d.provider_id for d in decisions} - column.keys()
    )
    if unknown:
        raise MatcherError(f"decisions name unknown demand or provider id(s): {', '.join(unknown)}")
    if any(inputs[row[d.demand_id]].vector is None for d in decisions):
        raise MatcherError("staff decisions need the sentence encoder (the decided demands' vectors)")
    found = [
        decision(row[d.demand_id], inputs[row[d.demand_id]].vector or b"", column[d.provider_id], d.accepted)
        for d in decisions
    ]
    return feedback_component(found, len(provider_ids), config or FeedbackConfig())


def evaluate(
    documents: Sequence[ProviderDocument],
    demands: Sequence[LabelledDemand],
    config: RankingConfig | None = None,
    encoder: Encoder | None = None,
    store: VectorStore | None = None,
    decisions: Sequence[StaffDecision] = (),
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
    encoder : Encoder, optional
        The sentence encoder (sparse only without one).
    store : VectorStore, optional
        Where encoded texts are kept between runs.
    decisions : sequence of StaffDecision
        Staff decisions the ranking learns from (``rank``).

    Returns
    -------
    Metrics
        acc@1, hit@5, MRR and macro acc@1 with 95 % bootstrap intervals.
    """
    scores, provider_ids = rank(documents, demands, config, encoder, store, decisions)
    column = {pid: i for i, pid in enumerate(provider_ids)}
    unknown = sorted({g for d in demands for g in d.gold} - column.keys())
    if unknown:
        raise MatcherError(f"gold provider id(s) without documents: {', '.join(unknown)}")
    gold = [frozenset(column[g] for g in d.gold) for d in demands]
    groups = [min(g) if g else 0 for g in gold]
    return metrics_from_ranks(gold_ranks(scores, gold), groups)
