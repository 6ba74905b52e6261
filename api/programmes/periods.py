"""Reporting periods and their due dates, and the calendar of the collection deadlines.

Seed 003 (龙岩市科协): quarterly reports are due before the 18th of March, June and September and the
annual report before 18 December; the province's own notice uses the 20th, hence ``due_day``.
Deadlines are dates in China Standard Time (UTC+8, no daylight saving).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

CHINA: Final = timezone(timedelta(hours=8), "CST")
DEFAULT_DUE_DAY: Final = 18
_DUE_MONTH: Final = {1: 3, 2: 6, 3: 9, 4: 12}
_PERIOD = re.compile(r"^((?:19|2\d)\d{2})(?:Q([1-4])|A?)$")  # years 1900-2999: dates beyond 9999 do not exist


@dataclass(frozen=True, slots=True)
class Period:
    """A quarter (``2026Q3``) or a year (``2026``) of reporting."""

    year: int
    quarter: int | None = None

    @property
    def code(self) -> str:
        """The period as the API spells it."""
        return f"{self.year}Q{self.quarter}" if self.quarter else str(self.year)

    @property
    def label(self) -> str:
        """The period in Chinese, as a report title says it."""
        return f"{self.year}年第{'一二三四'[self.quarter - 1]}季度" if self.quarter else f"{self.year}年度"

    @property
    def first_day(self) -> date:
        """The first day the period covers."""
        return date(self.year, 3 * (self.quarter - 1) + 1 if self.quarter else 1, 1)

    @property
    def last_day(self) -> date:
        """The last day the period covers."""
        end_month = 3 * self.quarter if self.quarter else 12
        following = date(self.year + (end_month == 12), end_month % 12 + 1, 1)
        return following - timedelta(days=1)

    def due_on(self, due_day: int = DEFAULT_DUE_DAY) -> date:
        """The day the report is due (3/6/9 月 for quarters, 12 月 for the year and the fourth quarter)."""
        return date(self.year, _DUE_MONTH[self.quarter or 4], due_day)


def parse_period(text: str) -> Period | None:
    """``2026Q3`` -> the third quarter, ``2026`` or ``2026A`` -> the year; None if malformed."""
    match = _PERIOD.fullmatch(text.strip().upper())
    if match is None:
        return None
    return Period(int(match.group(1)), int(match.group(2)) if match.group(2) else None)


def periods_of_year(year: int) -> list[Period]:
    """The reports due in ``year``: three quarterly ones, then the annual one in place of a fourth."""
    return [*(Period(year, quarter) for quarter in (1, 2, 3)), Period(year)]


def china_today(now: datetime | None = None) -> date:
    """Today's date in China."""
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def china_date(moment: datetime) -> date:
    """The date in China of an aware timestamp."""
    return moment.astimezone(CHINA).date()
