"""Demand texts and their stored terms: which fields are tokenized at intake, and the one tokenizer.

Tokenizing is the slow step of reading text (jieba's dictionary loads in about half a second), so
demands are tokenized once, at intake, field by field; rounds and match lists read the stored terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

from features.profiles import DEMAND

if TYPE_CHECKING:  # the tokenizer and the character model load scikit-learn and OpenCC: imported on use
    from features.tokenize import Tokenizer

__all__ = [
    "CHARACTER_EXTRA_FIELDS",
    "DEMAND_FIELDS",
    "DemandTokens",
    "demand_character_text",
    "stored_tokens",
    "tokenize_demands",
    "tokenizer",
]

DemandTokens = dict[str, list[str]]
# Demand fields tokenized at intake, in the order of the demand profile spec.
DEMAND_FIELDS = tuple(spec.name for spec in DEMAND.fields)
# Demand fields the character model reads after the title (twice) and the description: the other
# intake fields, which the word profile reads too.
CHARACTER_EXTRA_FIELDS = tuple(name for name in DEMAND_FIELDS if name not in ("title", "description"))


@cache
def tokenizer() -> Tokenizer:
    """The process's tokenizer (its dictionary loads once).

    Returns
    -------
    features.tokenize.Tokenizer
        With the domain dictionaries.
    """
    from features.tokenize import Tokenizer

    return Tokenizer()


def tokenize_demands(records: Sequence[Mapping[str, str | None]], n_jobs: int = 1) -> list[DemandTokens]:
    """Tokenize demands field by field, every field of every demand in one batch.

    Parameters
    ----------
    records : sequence of mapping of str to str or None
        Field name -> text of each demand (fields of ``DEMAND_FIELDS``; others are ignored).
    n_jobs : int
        Processes for large batches.

    Returns
    -------
    list of dict
        Field name -> terms of each demand (empty fields left out).
    """
    slots = [(i, name) for i, record in enumerate(records) for name in DEMAND_FIELDS if record.get(name)]
    texts = [str(records[i][name]) for i, name in slots]
    terms = tokenizer().tokenize_many(texts, n_jobs=n_jobs)
    out: list[DemandTokens] = [{} for _ in records]
    for (i, name), found in zip(slots, terms, strict=True):
        out[i][name] = found
    return out


def stored_tokens(value: object) -> DemandTokens | None:
    """Stored demand terms as field -> terms.

    Parameters
    ----------
    value : object
        What the database holds (JSON).

    Returns
    -------
    dict or None
        Field -> terms; None when absent or in an unknown shape (tokenize again).
    """
    # The column holds only what ``tokenize_demands`` wrote (JSON: lists of strings), so the shape is
    # checked per field, not per term: a round reads 5,000 demands' terms, about 750,000 of them.
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return {k: v for k, v in value.items() if k in DEMAND_FIELDS}
    return None


def demand_character_text(texts: Mapping[str, str | None]) -> str:
    """The text the character model reads of a demand: the normalised title twice, the description,
    then the other intake fields present, one per line.

    Parameters
    ----------
    texts : mapping of str to str or None
        Field name -> raw text.

    Returns
    -------
    str
    """
    from features.characters import demand_text

    extra = [text for name in CHARACTER_EXTRA_FIELDS if (text := texts.get(name))]
    return demand_text(texts.get("title") or "", texts.get("description") or "", extra)
