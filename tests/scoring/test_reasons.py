from __future__ import annotations

import pytest
from django.utils import translation

from kehu.scoring.reasons import describe_reason


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("recency_days=72 (+0.06)", "72 days since the last purchase"),
        ("total_amount=7.574e+04 (+0.06)", "spent ¥75,740 in all"),
        ("mean_interpurchase_days=22.33 (+0.02)", "buys every 22 days on average"),
        ("frequency_90d=0 (+0.10)", "0 purchases in the last 90 days"),
        ("monetary_180d=1508 (+0.02)", "spent ¥1,508 in the last 180 days"),
        ("return_rate=0.25 (+0.01)", "25% of items returned"),
        ("Contract=Month-to-month (+0.20)", "Contract: Month-to-month"),
        ("something odd", "something odd"),
    ],
)
def test_it_turns_engine_reasons_into_sentences(reason, text):
    assert describe_reason(reason) == text


def test_it_speaks_chinese_too():
    with translation.override("zh-hans"):
        assert describe_reason("recency_days=72 (+0.06)") == "距上次购买已 72 天"
