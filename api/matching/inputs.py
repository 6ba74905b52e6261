"""Rows to the matcher's plain inputs: a demand row's texts and stored terms, a provider profile."""

from collections.abc import Sequence
from typing import Any

from api.providers.profiles import ProviderProfile
from matcher import DemandInput, ProviderInput
from matcher.texts import DEMAND_FIELDS, stored_tokens, tokenize_demands


def demand_record(row: Any) -> dict[str, str | None]:
    """The text fields of a demand row, keywords joined into one text."""
    record: dict[str, str | None] = {name: getattr(row, name, None) for name in DEMAND_FIELDS}
    record["keywords"] = "、".join(getattr(row, "keywords", None) or [])
    return record


def demand_inputs(rows: Sequence[Any], n_jobs: int = 1) -> list[DemandInput]:
    """Each demand row's stored terms (tokenized now when intake did not store them) and texts."""
    records = [demand_record(row) for row in rows]
    stored = [stored_tokens(getattr(row, "tokens", None)) for row in rows]
    missing = [i for i, tokens in enumerate(stored) if tokens is None]
    fresh = iter(tokenize_demands([records[i] for i in missing], n_jobs=n_jobs))
    return [
        DemandInput(tokens if tokens is not None else next(fresh), record)
        for tokens, record in zip(stored, records, strict=True)
    ]


def provider_inputs(profiles: Sequence[ProviderProfile]) -> list[ProviderInput]:
    """The providers of one level as the index reads them (stored terms when present)."""
    return [
        ProviderInput(
            id=profile.id,
            name=profile.name,
            capacity=profile.capacity,
            documents=tuple(profile.documents),
            tokens=None if profile.tokens is None else tuple(tuple(doc) for doc in profile.tokens),
        )
        for profile in profiles
    ]
