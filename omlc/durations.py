"""Durations as OML writes them: ``300``, ``"24h"``, ``"-1h"``, ``"1h30m"``, ``"1d"``, ``"1w"``, ``"PT1H"``.

A duration has an absolute part (seconds: ``s``, ``m``, ``h``) and a calendar part (days:
``d``, ``w``), because a day in a schedule's timezone is not always 24 hours. ``"24h"``
and ``"1d"`` are different durations: across a DST change the first is 24 elapsed hours
and the second is "the same wall-clock time the next day".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPACT = re.compile(
    r"^(?P<sign>[+-])?(?=\d)(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$"
)
_ISO = re.compile(
    r"^(?P<sign>[+-])?P(?!$)(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_ISO_MONTHS = re.compile(r"^[+-]?P(?:\d+Y)?(?:\d+M)", re.I)

JSON_SCHEMA = {
    "anyOf": [
        {"type": "integer", "description": "seconds"},
        {
            "type": "string",
            "pattern": r"^[+-]?((\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?|\d+|P((\d+W)?(\d+D)?)(T(\d+H)?(\d+M)?(\d+S)?)?)$",
            "description": "e.g. 30s, 15m, 24h, -1h, 1h30m, 1d (calendar day), 1w, or ISO 8601 PT1H / P1D",
        },
    ]
}


class DurationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Duration:
    """``days`` is the calendar part (d, w), ``seconds`` the absolute part (h, m, s)."""

    days: int = 0
    seconds: int = 0

    @property
    def is_calendar(self) -> bool:
        return self.days != 0

    @property
    def nominal_seconds(self) -> int:
        """Length assuming 24-hour days (for comparisons and budgets, not for arithmetic)."""
        return self.days * 86400 + self.seconds

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.seconds == 0

    @property
    def negative(self) -> bool:
        return self.nominal_seconds < 0

    def __neg__(self) -> Duration:
        return Duration(-self.days, -self.seconds)

    def to_text(self) -> str:
        """Canonical compact text (``1d2h``); ``0s`` for zero."""
        if self.is_zero:
            return "0s"
        neg = self.nominal_seconds < 0
        days, secs = abs(self.days), abs(self.seconds)
        parts = []
        if days:
            w, d = divmod(days, 7)
            if w:
                parts.append(f"{w}w")
            if d:
                parts.append(f"{d}d")
        h, rem = divmod(secs, 3600)
        m, s = divmod(rem, 60)
        for n, unit in ((h, "h"), (m, "m"), (s, "s")):
            if n:
                parts.append(f"{n}{unit}")
        return ("-" if neg else "") + "".join(parts)

    def __str__(self) -> str:
        return self.to_text()


def parse_duration(value: object) -> Duration:
    """Parse an int (seconds) or a duration string; raises DurationError with a user message."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or value is None:
        raise DurationError(f"expected a duration, got {_kind(value)}")
    if isinstance(value, int):
        return Duration(0, value)
    if isinstance(value, float):
        if value.is_integer():
            return Duration(0, int(value))
        raise DurationError("durations are whole seconds; use a unit like '90s' or '1m30s'")
    if not isinstance(value, str):
        raise DurationError(f"expected a duration, got {_kind(value)}")
    text = value.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return Duration(0, int(text))
    m = _COMPACT.match(text) or _ISO.match(text.upper())
    if not m:
        if _ISO_MONTHS.match(text):
            raise DurationError(
                f"{value!r}: months and years have no fixed length; use days ('30d') or weeks"
            )
        raise DurationError(
            f"{value!r} is not a duration; use a number of seconds or units s, m, h, d, w "
            "(e.g. '90s', '15m', '24h', '-1h', '1d') or ISO 8601 ('PT1H')"
        )
    g = {k: int(v) for k, v in m.groupdict().items() if k != "sign" and v is not None}
    sign = -1 if m.group("sign") == "-" else 1
    days = g.get("w", 0) * 7 + g.get("d", 0)
    seconds = g.get("h", 0) * 3600 + g.get("m", 0) * 60 + g.get("s", 0)
    return Duration(sign * days, sign * seconds)


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    return {list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)
