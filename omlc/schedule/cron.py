"""Cron expressions as classic cron (cronie) reads them: parsing, matching, portability.

Parsing is ours, not croniter's, because the meaning differs where it matters:
``a-a`` is the single value ``a`` (croniter reads the whole cycle), a day field whose text
starts with ``*`` makes the day rule AND (croniter ORs ``*/2`` with a weekday), and 0 and 7
are both Sunday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRESETS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}
_NAMES = (None, None, None, _MONTHS, _DAYS)
_TOKEN = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")


class CronError(ValueError):
    """A cron expression that cannot be read: ``column`` is 0-based within the expression."""

    def __init__(self, message: str, column: int = 0, length: int = 1, hint: str | None = None):
        super().__init__(message)
        self.column = column
        self.length = length
        self.hint = hint


@dataclass(frozen=True)
class CronSpec:
    """A parsed 5-field cron expression."""

    text: str  # as written (a preset stays a preset)
    fields: tuple[str, str, str, str, str]  # the five field texts after preset expansion
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]  # day of month
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday .. 6; 7 folded into 0
    notes: tuple[tuple[str, int, int], ...] = ()  # (message, column, length): portability notes

    @property
    def dom_star(self) -> bool:
        return self.fields[2].startswith("*")

    @property
    def dow_star(self) -> bool:
        return self.fields[4].startswith("*")

    @property
    def wildcard_job(self) -> bool:
        """Classic cron's "wildcard job": the minute or hour field text starts with ``*``."""
        return self.fields[0].startswith("*") or self.fields[1].startswith("*")

    def day_stars(self, rule: str = "cron") -> tuple[bool, bool]:
        """Whether the day-of-month and day-of-week fields count as unrestricted.

        ``cron`` (classic cron, OML): the field text starts with ``*`` (``*/2`` is a star).
        ``croniter`` (the library the engines use): the field covers its whole range
        (``*/2`` is restricted, so it is ORed with a restricted weekday).
        """
        if rule == "croniter":
            return len(self.days) == 31, len(self.weekdays) == 7
        return self.dom_star, self.dow_star

    def day_matches(self, day: int, month: int, weekday: int, stars: tuple[bool, bool] | None = None) -> bool:
        """``weekday`` is 0 = Sunday. OR of the day fields when both are restricted, else AND."""
        if month not in self.months:
            return False
        dom = day in self.days
        dow = weekday in self.weekdays
        dom_star, dow_star = stars or (self.dom_star, self.dow_star)
        if dom_star or dow_star:
            return dom and dow
        return dom or dow

    def can_fire(self) -> bool:
        """False when no date ever matches (``0 0 30 2 *``). With both day fields restricted
        the rule is OR and any weekday matches; otherwise some month must have the day."""
        if not (self.dom_star or self.dow_star):
            return True
        longest = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
        return any(d <= longest[m] for m in self.months for d in self.days) and bool(self.weekdays)

    @property
    def times(self) -> list[tuple[int, int]]:
        """(hour, minute) pairs of a matching day, in order."""
        return [(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]

    def normalized(self) -> str:
        """Portable 5-field text: ``a-a`` -> ``a``, names kept as written otherwise."""
        return " ".join(_normalize_field(f) for f in self.fields)


def parse_cron(expression: str) -> CronSpec:
    text = expression.strip()
    offset = len(expression) - len(expression.lstrip())
    if not text:
        raise CronError("the cron expression is empty", 0, 1, 'e.g. "0 2 * * *" (02:00 every day)')
    if text.startswith("@"):
        preset = PRESETS.get(text.lower())
        if preset is None:
            hint = f"presets: {', '.join(PRESETS)}"
            if text.lower() == "@reboot":
                hint = "@reboot has no fire times; use a cron expression"
            elif text.lower() in ("@quarterly", "@every"):
                hint = "not portable; for quarterly use '0 0 1 1,4,7,10 *'"
            raise CronError(f"unknown cron preset {text!r}", offset, len(text), hint)
        fields = preset.split()
        spec = _parse_fields(fields, [offset] * 5, [len(text)] * 5)
        return CronSpec(text, tuple(fields), *spec, notes=())  # type: ignore[arg-type]
    parts = []
    for m in re.finditer(r"\S+", expression):
        parts.append((m.group(0), m.start()))
    if len(parts) != 5:
        hint = "cron has 5 fields: minute hour day-of-month month day-of-week"
        if len(parts) == 6:
            hint += " (6 fields with seconds or a year are not portable across Airflow, Prefect and Dagster)"
        raise CronError(f"a cron expression has 5 fields, this one has {len(parts)}", offset, len(text), hint)
    fields = [p for p, _ in parts]
    cols = [c for _, c in parts]
    spec = _parse_fields(fields, cols, [len(f) for f in fields])
    notes = []
    for f, c in zip(fields, cols):
        for m in re.finditer(r"(\w+)-(\w+)", f):
            if m.group(1).lower() == m.group(2).lower():
                notes.append((f"{m.group(0)!r} is the single value {m.group(1)!r}; croniter-based engines read "
                              "it as the whole range, so omlc emits it as a single value", c + m.start(),
                              len(m.group(0))))
    return CronSpec(text, tuple(fields), *spec, notes=tuple(notes))  # type: ignore[arg-type]


def _parse_fields(fields, cols, lengths):
    sets = []
    for index, (field, col, length) in enumerate(zip(fields, cols, lengths)):
        sets.append(_parse_field(field, index, col))
    minutes, hours, days, months, weekdays = sets
    weekdays = frozenset(0 if d == 7 else d for d in weekdays)
    return minutes, hours, days, months, weekdays


def _parse_field(field: str, index: int, col: int) -> frozenset[int]:
    low, high = _BOUNDS[index]
    values: set[int] = set()
    pos = 0
    for item in field.split(","):
        where = col + pos
        pos += len(item) + 1
        if item == "":
            raise CronError(f"empty list item in the {FIELDS[index]} field", where, 1)
        try:
            values.update(_parse_item(item, index, where))
        except CronError:
            unsupported = _non_portable(item)
            if unsupported:
                raise CronError(f"{item!r} in the {FIELDS[index]} field: {unsupported}", where, len(item),
                                "portable cron uses numbers, names, lists, ranges a-b and steps only") from None
            raise
    return frozenset(values)


def _parse_item(item: str, index: int, where: int) -> range:
    low, high = _BOUNDS[index]
    names = _NAMES[index]
    m = _TOKEN.match(item)
    if not m:
        raise CronError(f"{item!r} is not valid in the {FIELDS[index]} field", where, len(item),
                        f"use numbers {low}-{high}" + (" or names" if names else "") + ", ranges a-b, lists, */n")
    star, first, last, step = m.groups()
    if star:
        start, end = low, high if index != 4 else 6
    else:
        start = _value(first, index, where, len(item))
        end = _value(last, index, where, len(item)) if last is not None else None
        if end is None:
            end = (high if index != 4 else 6) if step else start
        elif end < start:
            raise CronError(f"range {item!r} in the {FIELDS[index]} field runs backwards", where, len(item),
                            f"write {last}-{first}, or split it into two ranges")
    n = 1
    if step is not None:
        n = int(step)
        if n == 0:
            raise CronError(f"step 0 in {item!r}", where, len(item), "a step is 1 or more")
        if n > high - low + 1 and index != 4:
            raise CronError(f"step {n} in {item!r} is larger than the {FIELDS[index]} range", where, len(item))
    return range(start, end + 1, n)


def _value(token: str, index: int, col: int, length: int) -> int:
    low, high = _BOUNDS[index]
    names = _NAMES[index]
    if token.isdigit():
        v = int(token)
        if not low <= v <= high:
            raise CronError(f"{v} is out of range for the {FIELDS[index]} field ({low}-{high})", col, length)
        return v
    if names and token.lower() in names:
        return names[token.lower()]
    raise CronError(f"{token!r} is not a valid {FIELDS[index]}", col, length,
                    "month names jan-dec, day names sun-sat" if names else f"use numbers {low}-{high}")


def _non_portable(item: str) -> str | None:
    """Why a token that failed to parse is not portable cron, when it is a known extension."""
    upper = item.upper()
    if item == "?":
        return "'?' is Quartz syntax; use '*'"
    if "#" in item:
        return "'#' (nth weekday of the month) is not portable"
    if re.fullmatch(r"\d*L|L-?\d*|\w+L", upper):
        return "'L' (last day) is not portable"
    if re.fullmatch(r"\d+W|LW", upper):
        return "'W' (nearest weekday) is not portable"
    return None


def _normalize_field(field: str) -> str:
    """``a-a`` and ``a-a/n`` -> ``a`` (croniter reads both as the whole range)."""

    def repl(m: re.Match[str]) -> str:
        return m.group(1) if m.group(1).lower() == m.group(2).lower() else m.group(0)

    return ",".join(re.sub(r"^(\w+)-(\w+)(/\d+)?$", repl, item) for item in field.split(","))
