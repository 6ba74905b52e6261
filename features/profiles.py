"""Which fields make a demand's or a provider's text, and how much each field weighs.

A profile is tokenized once, field by field (``tokenize_fields``), and stored that way; each matching
round turns the stored tokens into a weighted bag of terms (``ProfileSpec.bag``) for the vectorizer, so
weights can change without tokenizing again, and reasons can name the field a term came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

TokenizedProfile = Mapping[str, Sequence[str]]
"""Field name -> the terms of that field, in text order."""


class UnknownFieldError(ValueError):
    """A profile names a field its spec does not define."""


@dataclass(frozen=True)
class FieldSpec:
    """One text field of a profile.

    Parameters
    ----------
    name : str
        Machine name, as in the data (``title``).
    label : str
        Chinese label shown to staff (``技术需求名称``).
    weight : float
        Multiplier of the term counts of this field; must be positive.
    """

    name: str
    label: str
    weight: float

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"field {self.name!r}: weight must be positive, got {self.weight}")


@dataclass(frozen=True)
class ProfileSpec:
    """The fields of one kind of profile, with their weights.

    Parameters
    ----------
    fields : tuple of FieldSpec
        The fields, each name once.
    """

    fields: tuple[FieldSpec, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in {names}")

    def field(self, name: str) -> FieldSpec:
        """Return the field called ``name``; raise UnknownFieldError otherwise."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise UnknownFieldError(f"unknown field {name!r}; expected one of {[f.name for f in self.fields]}")

    def tokenize_fields(
        self, record: Mapping[str, str | None], tokenize: Callable[[str], list[str]]
    ) -> dict[str, list[str]]:
        """Tokenize the fields of ``record`` that this spec knows; missing or empty fields are left out.

        Parameters
        ----------
        record : mapping of str to str or None
            Raw field texts; keys the spec does not define are ignored.
        tokenize : callable
            A tokenizer such as ``features.tokenize.Tokenizer()``.

        Returns
        -------
        dict of str to list of str
            Field name -> terms.
        """
        return {f.name: tokenize(text) for f in self.fields if (text := record.get(f.name))}

    def bag(self, profile: TokenizedProfile) -> dict[str, float]:
        """Weighted term counts: each occurrence counts its field's weight.

        Parameters
        ----------
        profile : mapping of str to sequence of str
            Field name -> terms (as stored at intake).

        Returns
        -------
        dict of str to float
            Term -> summed weight.
        """
        counts: dict[str, float] = {}
        for name, terms in profile.items():
            weight = self.field(name).weight
            for term in terms:
                counts[term] = counts.get(term, 0.0) + weight
        return counts

    def weight_matrix(self, profiles: Sequence[TokenizedProfile]) -> tuple[sp.csr_matrix, list[str]]:
        """Every profile's :meth:`bag` at once: profiles x distinct terms, and the terms in column order.

        The same numbers as the bags', made for thousands of profiles without a dict per profile: terms
        are numbered by first appearance (profiles in order, fields in stored order), a row holds its
        terms in order of first appearance, and a term's weights are summed in text order.

        Parameters
        ----------
        profiles : sequence of mapping of str to sequence of str
            Field name -> terms, per profile.

        Returns
        -------
        weights : scipy.sparse.csr_matrix, float64
            Row ``r``, column ``t``: the summed field weights of term ``t`` in profile ``r``.
        terms : list of str
            The distinct terms, in column order.
        """
        weight_of = {f.name: f.weight for f in self.fields}
        flat: list[str] = []
        sizes: list[int] = []
        weights: list[float] = []
        owners: list[int] = []
        for row, profile in enumerate(profiles):
            for name, terms in profile.items():
                if name not in weight_of:
                    self.field(name)  # raises UnknownFieldError, as bag does
                flat.extend(terms)
                sizes.append(len(terms))
                weights.append(weight_of[name])
                owners.append(row)
        term_id, starts = _first_seen_ids(flat)
        row_of = np.repeat(np.asarray(owners, np.int64), sizes)
        # An entry is a (profile, term) pair, numbered by first appearance: rows come in order and a
        # row's terms in order of first appearance, with no sort.
        entry, first = _first_seen_ids((row_of * max(len(starts), 1) + term_id).tolist())
        summed = np.bincount(entry, weights=np.repeat(np.asarray(weights, np.float64), sizes))
        indptr = np.zeros(len(profiles) + 1, np.int64)
        np.cumsum(np.bincount(row_of[first], minlength=len(profiles)), out=indptr[1:])
        matrix = sp.csr_matrix((summed, term_id[first], indptr), shape=(len(profiles), len(starts)))
        return matrix, [flat[at] for at in starts]

    def fields_of(self, profile: TokenizedProfile, term: str) -> tuple[str, ...]:
        """Chinese labels of the fields of ``profile`` that contain ``term``, in spec order."""
        return tuple(f.label for f in self.fields if term in profile.get(f.name, ()))

    def first_fields(self, profile: TokenizedProfile, terms: Sequence[str]) -> list[str]:
        """For each of ``terms``, the Chinese label of the first field of ``profile`` (in spec order)
        that contains it, or "" when none does.

        Parameters
        ----------
        profile : mapping of str to sequence of str
            Field name -> terms.
        terms : sequence of str
            Terms to look up (each field's terms are put in a set once for all of them).

        Returns
        -------
        list of str
        """
        held = [(f.label, set(found)) for f in self.fields if (found := profile.get(f.name))]
        return [next((label for label, within in held if term in within), "") for term in terms]


def _first_seen_ids(values: Sequence[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each value's id, ids numbered by first appearance, and where each id first appears.

    The dict maps a value to the position of its first appearance in C (``setdefault`` over a count);
    those positions are then ranked with a cumulative sum, not a sort.
    """
    seen: dict[Any, int] = {}
    at = np.fromiter(map(seen.setdefault, values, count()), np.int64, len(values))
    is_first = np.zeros(len(values), bool)
    is_first[at] = True
    rank = np.cumsum(is_first) - 1
    return rank[at], np.flatnonzero(is_first)


DEMAND = ProfileSpec(
    (
        FieldSpec("title", "技术需求名称", 2.0),
        FieldSpec("description", "具体说明", 1.0),
        FieldSpec("keywords", "关键词", 1.5),
        FieldSpec("main_business", "主营业务", 0.5),
        FieldSpec("company_profile", "企业概况", 0.3),
    )
)
"""A technology demand: its name weighs most; the company's business and profile only hint."""

PROVIDER = ProfileSpec(
    (
        FieldSpec("name", "名称", 1.0),
        FieldSpec("disciplines", "学科领域", 1.5),
        FieldSpec("research", "研究方向", 1.5),
        FieldSpec("scope", "业务范围", 1.0),
        FieldSpec("text", "简介", 1.0),
    )
)
"""A society, branch or expert: declared disciplines and research directions weigh most."""
