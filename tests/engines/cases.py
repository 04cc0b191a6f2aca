"""Random fire-time cases around DST transitions, for the engine agreement tests.

A case is (cron, timezone, start, count): "the first ``count`` fire times after ``start``".
Starts fall within two days before a real UTC-offset change of the zone (every change of
the zone in the years below is a candidate), at 17 seconds past a minute so no start is a
fire time itself (the engines answer "on or after", omlc "strictly after"). The expressions
are portable 5-field cron with the shapes that behave differently at transitions: fixed
times inside the changing hours, minute and hour wildcards, steps, lists, ranges, weekdays,
days of month, both day fields restricted, presets.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from omlc.schedule.analysis import transitions
from omlc.schedule.cron import parse_cron
from omlc.schedule.engine import zone

# the zones the issue names, plus a 2-hour DST (Troll), a 45-minute zone with DST (Chatham),
# a 30-minute zone (St Johns) and Morocco's negative Ramadan DST
ZONES = {
    "America/New_York": (2023, 2026),
    "Europe/Prague": (2023, 2026),
    "Europe/Dublin": (2023, 2026),  # "negative DST": IST is standard time, GMT the winter offset
    "Australia/Lord_Howe": (2023, 2026),  # a 30-minute DST
    "America/Sao_Paulo": (2016, 2020),  # DST at midnight until 2019
    "Asia/Kathmandu": (1985, 1987),  # +05:30 -> +05:45, a 15-minute jump
    "Antarctica/Troll": (2023, 2025),  # +00 -> +02, a 2-hour jump
    "Pacific/Chatham": (2023, 2025),
    "America/St_Johns": (2023, 2025),
    "Africa/Casablanca": (2023, 2025),
}


def _transitions(name: str) -> list[datetime]:
    first, last = ZONES[name]
    start = datetime(first, 1, 1, tzinfo=timezone.utc)
    end = datetime(last, 1, 1, tzinfo=timezone.utc)
    return [t.at for t in transitions(zone(name), start, end, step=timedelta(days=1))]


def _hour(rng: random.Random, local_hour: int) -> int:
    """Mostly the hours around the transition, sometimes any hour."""
    return (local_hour + rng.choice([-1, 0, 0, 0, 1])) % 24 if rng.random() < 0.8 else rng.randrange(24)


def random_cron(rng: random.Random, local_hour: int) -> str:
    h = _hour(rng, local_hour)
    m = rng.choice([0, 0, 15, 30, 30, 45, rng.randrange(60)])
    shape = rng.randrange(16)
    if shape <= 3:
        return f"{m} {h} * * *"
    if shape == 4:
        return f"{m} {h},{(h + rng.randrange(1, 12)) % 24} * * *"
    if shape == 5:
        return f"{m} {max(0, h - 1)}-{min(23, h + 1)} * * *"
    if shape == 6:
        return rng.choice([f"{m} * * * *", f"*/{rng.choice([5, 10, 15, 20, 30])} * * * *", "@hourly"])
    if shape == 7:
        return f"{m} */{rng.choice([2, 3, 4, 6])} * * *"
    if shape == 8:
        return f"*/{rng.choice([10, 15, 20, 30])} {h} * * *"
    if shape == 9:
        return f"{m},{(m + 30) % 60} {h}-{(h + 2) % 24 if h < 22 else 23} * * *"
    if shape == 10:
        return f"{m} {h} * * {rng.choice(['0', '1-5', '6', '0,6', '*/2'])}"
    if shape == 11:
        return f"{m} {h} {rng.choice(['1', '15', '*/2', '1-10'])} * *"
    if shape == 12:
        return f"{m} {h} {rng.choice(['1', '13', '*/2'])} * {rng.choice(['0', '5', '1-5'])}"
    if shape == 13:
        return rng.choice(["@daily", "@midnight", "0 0 * * *", "@weekly"])
    if shape == 14:
        return f"{m} {h}-{(h + 3) % 24 if h < 20 else 23}/2 * * *"
    return f"0-{rng.choice([4, 10])} {h} * * *"


def cases(seed: int, per_zone: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for name in ZONES:
        tz = zone(name)
        moments = _transitions(name)
        for _ in range(per_zone):
            at = rng.choice(moments)
            local_hour = at.astimezone(tz).hour
            start = at - timedelta(minutes=rng.randrange(0, 48 * 60)) + timedelta(seconds=17)
            start = start.replace(second=17, microsecond=0)
            cron = random_cron(rng, local_hour)
            fields = parse_cron(cron).fields
            sub_daily = fields[0].startswith(("*", "0-")) or fields[1].startswith("*")
            count = 60 if sub_daily else 6  # enough fire times to reach past the transition
            out.append({"cron": cron, "tz": name, "start": start.isoformat(), "count": count})
    return out
