"""A station registered from a pairing: the form says which unit will file its reports (or warns that
none will), the unit's page warns when it has none, and its activity form lists each unit once."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand
from api.programmes.models import ReportingUnit
from tests.api.programme_setup import SOCIETY_NAME, Setting, build_setting
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


@pytest.fixture
def setting(client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """A society with a reporting unit, a county 科协, a demand with an accepted and a proposed pairing."""
    return build_setting(client, staff_headers, db)


def _options(html: str, select_id: str) -> list[str]:
    found = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert found, f"no #{select_id}"
    return re.findall(r"<option[^>]*>([^<]*)</option>", found.group(0))


def _register(browser: TestClient, setting: Setting) -> TestClient:
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}").text
    data = {
        "csrf_token": csrf_of(form),
        "pairing_id": str(setting.pairing_id),
        "kind": "society_station",
        "level": "provincial",
        "established_on": "2026-07-08",
    }
    return browser.post("/standing-units/from-pairing", data=data)


def test_the_form_names_the_default_reporting_unit_once(browser: TestClient, setting: Setting) -> None:
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}").text
    options = _options(form, "u-reporting_unit_id")
    assert options[0] == f"按默认：{SOCIETY_NAME}"
    assert sum(SOCIETY_NAME in option for option in options) == 1
    assert 'class="field-warning"' not in form


def test_a_unit_without_a_reporting_unit_is_warned_about_before_and_after(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    with db.begin() as session:
        session.execute(delete(ReportingUnit))
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}").text
    assert _options(form, "u-reporting_unit_id") == ["（未指定）"]
    assert re.search(r'class="field-warning" id="reporter-hint"[^>]*>[^<]*不会计入季度报告', form)
    created = _register(browser, setting)
    assert re.fullmatch(r"/standing-units/\d+", created.url.path)
    assert "注意：未指定填报单位" in created.text  # the notice after registering
    assert re.search(r'id="no-reporter">未指定：[^<]*不会计入季度报告', created.text)
    assert _options(created.text, "a-reporting_unit_id") == ["（请选择）"]


def test_the_activity_form_lists_each_reporting_unit_once(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    created = _register(browser, setting)
    options = _options(created.text, "a-reporting_unit_id")
    assert options[0] == f"按本单位：{SOCIETY_NAME}"
    assert sum(SOCIETY_NAME in option for option in options) == 1
    assert len(options) == 2  # the society (default) and the county 科协
    assert "未指定" not in created.text


def test_the_county_files_for_a_society_that_is_no_reporting_unit(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    with db.begin() as session:
        session.execute(delete(ReportingUnit).where(ReportingUnit.society_id.is_not(None)))
        session.execute(update(Demand).values(region_code="350823000000"))
        county = session.scalars(select(ReportingUnit.name)).one()
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}").text
    assert _options(form, "u-reporting_unit_id") == [f"按默认：{county}"]
