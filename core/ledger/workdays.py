"""Working days for the 公示's objection window: weekdays, less public holidays, plus the weekend
days worked instead (调休). The holidays are data (``holidays.toml`` beside this module, or a file
of the same format given with ``--holidays``), never code."""

from __future__ import annotations

import datetime as dt
import sys
from importlib import resources
from pathlib import Path

from attrs import frozen

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class CalendarError(ValueError):
    """A holiday list that cannot be read; the message is Chinese."""


@frozen
class Calendar:
    """Days off and weekend days worked, by year, and where they come from."""

    off: frozenset[dt.date]
    work: frozenset[dt.date]
    years: frozenset[int]
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> Calendar:
        """The shipped list, or the list in ``path``."""
        if path is None:
            text = resources.files("jinhua_subsidy.ledger").joinpath("holidays.toml").read_text(encoding="utf-8")
            source = "jinhua_subsidy/ledger/holidays.toml"
        else:
            text, source = path.read_text(encoding="utf-8"), str(path)
        try:
            data = tomllib.loads(text)
            off: set[dt.date] = set()
            work: set[dt.date] = set()
            years: set[int] = set()
            for year, entry in data.items():
                y = int(year)
                years.add(y)
                for name, into in (("off", off), ("work", work)):
                    for d in entry.get(name, ()):
                        day = dt.date.fromisoformat(d)
                        if day.year != y:
                            raise CalendarError(f"{source}：[{year}] 中的 {d} 不在该年")
                        into.add(day)
        except (tomllib.TOMLDecodeError, ValueError, TypeError, AttributeError) as exc:
            raise CalendarError(f"无法读取节假日表 {source}：{exc}") from None
        return cls(frozenset(off), frozenset(work), frozenset(years), source)

    def working(self, day: dt.date) -> bool:
        if day in self.work:
            return True
        return day.weekday() < 5 and day not in self.off

    def window(self, start: dt.date, days: int) -> dt.date:
        """The last day of a window of ``days`` working days that begins on ``start`` (counted
        from ``start`` itself when it is a working day)."""
        d, left = start, days
        while True:
            if self.working(d):
                left -= 1
                if left == 0:
                    return d
            d += dt.timedelta(days=1)

    def covers(self, start: dt.date, end: dt.date) -> bool:
        """Whether the list has every year from ``start`` to ``end``."""
        return all(y in self.years for y in range(start.year, end.year + 1))
