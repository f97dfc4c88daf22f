"""The shopping calendar of a Chinese fashion retailer as a daily intensity, and the time warp that
turns a homogeneous purchase process into a seasonal one."""

from __future__ import annotations

import datetime as dt

import numpy as np

# Chinese New Year's Day (春节) by year; the holiday week empties the courier network.
SPRING_FESTIVAL = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}
# Winter coats sell in the autumn; July and August are the summer lull.
MONTH_FACTOR = np.array([1.0, 0.9, 1.0, 0.95, 0.95, 1.0, 0.85, 0.85, 1.0, 1.1, 1.15, 1.15])
EPOCH = dt.date(1970, 1, 1)


def day_weight(day: dt.date) -> float:
    """Relative order intensity of one calendar day (before normalisation)."""
    w = float(MONTH_FACTOR[day.month - 1])
    w *= (1.0, 1.0, 1.0, 1.0, 1.05, 1.2, 1.2)[day.weekday()]
    md = (day.month, day.day)
    if md == (11, 11):  # 双11, the biggest shopping day of the year
        w *= 6.0
    elif (11, 1) <= md <= (11, 10):  # 双11 pre-sales
        w *= 1.3
    elif md in {(11, 12), (11, 13)}:
        w *= 1.5
    elif (11, 14) <= md <= (11, 20):  # everyone already bought
        w *= 0.85
    elif md == (6, 18):  # 618
        w *= 3.5
    elif (6, 1) <= md <= (6, 17):
        w *= 1.25
    elif md == (12, 12):  # 双12
        w *= 2.0
    elif md == (3, 8):  # 女神节
        w *= 1.8
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is None or abs((day - festival).days) > 40:
        festival = SPRING_FESTIVAL.get(day.year + 1) or festival
    if festival is not None:
        offset = (day - festival).days
        if -25 <= offset <= -9:  # new clothes for the new year (年货节)
            w *= 1.35
        elif -8 <= offset <= 6:  # the holiday: couriers and many stores closed
            w *= 0.45
        elif 7 <= offset <= 20:  # rebound after the holiday, red-envelope money
            w *= 1.25
    return w


class Calendar:
    """Daily intensity over [first_day, last_day] (local dates), normalised to mean 1, with its
    cumulative integral: "operational time" in which purchases are a homogeneous process."""

    def __init__(self, first_day: dt.date, last_day: dt.date) -> None:
        self.first = (first_day - EPOCH).days
        days = (last_day - first_day).days + 1
        weights = np.array([day_weight(first_day + dt.timedelta(days=i)) for i in range(days)])
        self.weights = weights / weights.mean()
        # Grid of day boundaries (in days since the epoch) and the cumulative intensity at each.
        self.grid = self.first + np.arange(days + 1, dtype=np.float64)
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.weights)])

    def to_operational(self, local_days: np.ndarray) -> np.ndarray:
        return np.interp(local_days, self.grid, self.cumulative)

    def from_operational(self, op: np.ndarray) -> np.ndarray:
        return np.interp(op, self.cumulative, self.grid)
