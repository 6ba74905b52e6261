"""Rows to the matcher's plain inputs: a demand row's texts and stored terms, a provider profile."""

from collections.abc import Mapping, Sequence
from typing import Any

from api.providers.profiles import ProviderProfile
from matcher import DemandInput, ProviderInput
from matcher.texts import DEMAND_FIELDS, stored_tokens, tokenize_demands


def demand_record(row: Any) -> dict[str, str | None]:
    """The text fields of a demand row, keywords joined into one text."""
    record: dict[str, str | None] = {name: getattr(row, name, None) for name in DEMAND_FIELDS}
    record["keywords"] = "、".join(getattr(row, "keywords", None) or [])
    return record


def demand_inputs(
    rows: Sequence[Any], n_jobs: int = 1, vectors: Mapping[int, bytes] | None = None
) -> list[DemandInput]:
    """Each demand row's stored terms (tokenized now when intake did not store them), texts and
    stored sentence vector (``vectors`` by demand id; absent while it is being encoded); the key is
    the demand's id (its own staff decisions never move its own ranking)."""
    records = [demand_record(row) for row in rows]
    stored = [stored_tokens(getattr(row, "tokens", None)) for row in rows]
    missing = [i for i, tokens in enumerate(stored) if tokens is None]
    # Only demands without stored terms need the tokenizer (its dictionary takes a second to load).
    fresh = iter(tokenize_demands([records[i] for i in missing], n_jobs=n_jobs) if missing else [])
    found = vectors or {}
    return [
        DemandInput(tokens if tokens is not None else next(fresh), record, found.get(row.id), row.id)
        for row, tokens, record in zip(rows, stored, records, strict=True)
    ]


def provider_inputs(
    profiles: Sequence[ProviderProfile],
    chunks: Mapping[tuple[str, int], Sequence[tuple[str, bytes]]] | None = None,
) -> list[ProviderInput]:
    """The providers of one level as the index reads them (stored terms when present), with the
    stored sentence chunks of the rows behind each profile (``chunks`` by (kind, id))."""
    found = chunks or {}
    return [
        ProviderInput(
            id=profile.id,
            name=profile.name,
            capacity=profile.capacity,
            documents=tuple(profile.documents),
            tokens=None if profile.tokens is None else tuple(tuple(doc) for doc in profile.tokens),
            chunks=tuple(chunk for owner in profile.owners for chunk in found.get(owner, ())) or None,
        )
        for profile in profiles
    ]
