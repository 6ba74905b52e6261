"""Which fields make a demand's or a provider's text, and how much each field weighs.

A profile is tokenized once, field by field (``tokenize_fields``), and stored that way; each matching
round turns the stored tokens into a weighted bag of terms (``ProfileSpec.bag``) for the vectorizer, so
weights can change without tokenizing again, and reasons can name the field a term came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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
