"""Synthetic BTYD-like transaction generator for the analytics benchmarks (vectorised NumPy)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def generate_transactions(customers: int, seed: int = 0, end: str = "2024-12-31", years: float = 3.0) -> pd.DataFrame:
    """Customers arrive uniformly over ``years`` before ``end``; each buys at a gamma-distributed daily rate and
    drops out after each purchase with a beta-distributed probability (the BG/NBD story); spend per order is
    gamma-gamma. About 10 lines per customer on average (some orders have 2 lines on the same day), ~5% refunds."""
    rng = np.random.default_rng(seed)
    span = int(years * 365)
    end_day = (pd.Timestamp(end) - pd.Timestamp("1970-01-01")).days
    first = end_day - rng.integers(0, span, customers)
    lam = rng.gamma(0.9, 1 / 30.0, customers)  # purchases per day
    p = rng.beta(1.0, 9.0, customers)  # drop-out probability after each purchase
    n_more = np.minimum(rng.geometric(p) - 1, 400)
    cust = np.repeat(np.arange(customers), n_more)
    gaps = rng.exponential(1.0, cust.size) / lam[cust]
    # cumulative time since first purchase within each customer
    csum = np.cumsum(gaps)
    starts = np.concatenate([[0], np.cumsum(n_more)[:-1]])
    offset = np.repeat(csum[starts] - gaps[starts], n_more)
    t = csum - offset
    day = first[cust] + np.floor(t).astype(np.int64)
    keep = day <= end_day
    all_cust = np.concatenate([np.arange(customers), cust[keep]])
    all_day = np.concatenate([first, day[keep]])
    spend_scale = rng.gamma(3.0, 15.0, customers)
    amount = np.round(rng.gamma(4.0, 1.0, all_cust.size) * spend_scale[all_cust] / 4.0, 2)
    # second line on the same day for ~30% of orders, refunds for ~5% of lines
    extra = rng.random(all_cust.size) < 0.3
    all_cust = np.concatenate([all_cust, all_cust[extra]])
    all_day = np.concatenate([all_day, all_day[extra]])
    amount = np.concatenate([amount, np.round(amount[extra] * rng.uniform(0.1, 0.8, int(extra.sum())), 2)])
    refund = rng.random(all_cust.size) < 0.05
    amount = np.where(refund, -np.round(amount * 0.5, 2), amount)
    return pd.DataFrame(
        {
            "customer_id": all_cust.astype(np.int64) + 100000,
            "date": pd.to_datetime(all_day, unit="D"),
            "amount": amount,
        }
    )
