"""The error table and the Chinese messages (no database)."""

import re
import string

import pytest
from pydantic import BaseModel, ValidationError

from api.demands.schemas import DemandCreate
from api.errors import (
    ERROR_TABLE,
    ErrorSpec,
    HuiqiError,
    error_response,
    field_name,
    model_labels,
    translate_all,
)
from api.programmes.schemas import ActivityCreate
from api.validation import MESSAGES

CONTEXT_FIELDS = {
    "label",
    "level_label",
    "field",
    "value",
    "max_length",
    "min",
    "max",
    "decimal_places",
    "expected",
    "choices",
    "position",
    "char",
    "pattern",
    "line",
}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_message_is_chinese_and_uses_only_known_placeholders(code: str) -> None:
    template = MESSAGES[code]
    placeholders = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    assert placeholders <= CONTEXT_FIELDS
    assert re.search(r"[\u4e00-\u9fff]", template)


@pytest.mark.parametrize(
    ("loc", "name"),
    [(("body", "mobile"), "mobile"), (("body", "keywords", 2), "keywords[2]"), (("body",), "body")],
)
def test_error_locations_become_api_field_names(loc: tuple[str | int, ...], name: str) -> None:
    assert field_name(loc) == name


def test_a_table_row_maps_a_foreign_exception() -> None:
    class SolverInfeasibleError(ValueError):
        pass

    ERROR_TABLE[SolverInfeasibleError] = ErrorSpec(409, "infeasible")
    try:
        response = error_response(SolverInfeasibleError("capacity has 3 entries but affinity has 4 columns"))
    finally:
        del ERROR_TABLE[SolverInfeasibleError]
    assert response.status_code == 409
    assert b"capacity has 3 entries" in response.body


def test_an_unmapped_exception_is_not_swallowed() -> None:
    with pytest.raises(TypeError, match="no HTTP mapping"):
        error_response(RuntimeError("boom"))


def test_every_service_error_has_a_status_and_a_code() -> None:
    def subclasses(kind: type[HuiqiError]) -> list[type[HuiqiError]]:
        return [kind, *(sub for child in kind.__subclasses__() for sub in subclasses(child))]

    for kind in subclasses(HuiqiError):
        assert 400 <= kind.status_code < 500
        assert re.fullmatch(r"[a-z_]+", kind.code)


def test_validation_errors_outside_requests_translate_too() -> None:
    class Probe(BaseModel):
        count: int

    with pytest.raises(ValidationError) as caught:
        Probe.model_validate({"count": "many"})
    assert [error.code for error in translate_all(caught.value.errors())] == ["number_invalid"]
    with pytest.raises(ValidationError) as caught:
        DemandCreate.model_validate({})
    codes = {error.field: error.code for error in translate_all(caught.value.errors())}
    assert codes == {
        "org_name": "required",
        "contact_name": "required",
        "title": "required",
        "description": "required",
        "mobile": "contact_phone_required",
    }


def _blank_title_message(labels: dict[str, str] | None) -> str:
    with pytest.raises(ValidationError) as caught:
        ActivityCreate.model_validate(
            {"kind": "visit", "title": "", "content": "走访", "occurred_on": "2026-07-01"}
        )
    return next(
        item.message for item in translate_all(caught.value.errors(), labels) if item.field == "title"
    )


def test_a_model_names_its_own_fields_where_a_shared_label_means_something_else() -> None:
    assert "技术需求名称" in _blank_title_message(None)  # the shared label of `title` is the demand's
    own = _blank_title_message(model_labels(ActivityCreate))
    assert "活动名称" in own
    assert "技术需求名称" not in own
