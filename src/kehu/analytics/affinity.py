"""Product affinity: pairwise association rules, next-product recommendations and segment preferences."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from .exceptions import AnalyticsInputError

__all__ = ["association_rules", "recommend_next_products", "segment_preferences"]


def _require(df: pd.DataFrame, cols: tuple[str, ...]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalyticsInputError(f"missing column(s) {missing}; available: {list(df.columns)}")


def association_rules(
    baskets: pd.DataFrame,
    order_col: str = "order_id",
    item_col: str = "product",
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    min_lift: float = 1.0,
) -> pd.DataFrame:
    """One-to-one rules ``antecedent -> consequent`` from order baskets (an item counted once per order).

    support = share of orders containing both; confidence = P(consequent | antecedent); lift = confidence /
    P(consequent). Computed with a sparse order x item matrix (co-occurrence = B^T B), so it scales to millions of
    lines; rules with more than one antecedent item are out of scope.
    """
    _require(baskets, (order_col, item_col))
    data = baskets[[order_col, item_col]].dropna().drop_duplicates()
    if data.empty:
        raise AnalyticsInputError("no baskets")
    orders, o_idx = np.unique(data[order_col].to_numpy(), return_inverse=True)
    items, i_idx = np.unique(data[item_col].astype(str).to_numpy(), return_inverse=True)
    n = orders.size
    B = sparse.csr_matrix((np.ones(len(data)), (o_idx.ravel(), i_idx.ravel())), shape=(n, items.size))
    item_count = np.asarray(B.sum(axis=0)).ravel()
    co = (B.T @ B).tocoo()
    mask = co.row != co.col
    a, c, both = co.row[mask], co.col[mask], co.data[mask]
    support = both / n
    confidence = both / item_count[a]
    lift = confidence / (item_count[c] / n)
    keep = (support >= min_support) & (confidence >= min_confidence) & (lift >= min_lift)
    rules = pd.DataFrame(
        {
            "antecedent": items[a[keep]],
            "consequent": items[c[keep]],
            "support": support[keep],
            "confidence": confidence[keep],
            "lift": lift[keep],
            "orders": both[keep].astype(np.int64),
        }
    )
    return rules.sort_values(
        ["lift", "confidence", "antecedent", "consequent"], ascending=[False, False, True, True]
    ).reset_index(drop=True)


def recommend_next_products(
    purchases: pd.DataFrame,
    rules: pd.DataFrame,
    customer_col: str = "customer_id",
    item_col: str = "product",
    top_n: int = 3,
) -> pd.DataFrame:
    """Per customer, the ``top_n`` products they have not bought, scored by the best rule from what they bought.

    Score = max over the customer's products of confidence x lift of the rule product -> candidate.
    """
    _require(purchases, (customer_col, item_col))
    _require(rules, ("antecedent", "consequent", "confidence", "lift"))
    owned = purchases[[customer_col, item_col]].dropna().drop_duplicates()
    owned = owned.assign(**{item_col: owned[item_col].astype(str)})
    r = rules.assign(score=rules["confidence"] * rules["lift"])
    cand = owned.merge(r, left_on=item_col, right_on="antecedent")
    cand = cand.merge(
        owned.rename(columns={item_col: "consequent"}).assign(_owned=True), on=[customer_col, "consequent"], how="left"
    )
    cand = cand[cand["_owned"].isna()]
    best = cand.groupby([customer_col, "consequent"], as_index=False).agg(
        score=("score", "max"), because=("antecedent", "first")
    )
    best = best.sort_values([customer_col, "score", "consequent"], ascending=[True, False, True])
    best["rank"] = best.groupby(customer_col).cumcount() + 1
    out = best[best["rank"] <= top_n].rename(columns={"consequent": "product"})
    return out[[customer_col, "rank", "product", "score", "because"]].reset_index(drop=True)


def segment_preferences(
    purchases: pd.DataFrame,
    segments: pd.DataFrame,
    customer_col: str = "customer_id",
    item_col: str = "product",
    segment_col: str = "segment",
    top_n: int = 5,
    min_customers: int = 5,
) -> pd.DataFrame:
    """Products each segment prefers: share of the segment's customers buying the product, and its lift over all
    customers (share in segment / share overall). Products bought by fewer than ``min_customers`` segment members
    are skipped (tiny counts make lifts noisy)."""
    _require(purchases, (customer_col, item_col))
    _require(segments, (customer_col, segment_col))
    owned = purchases[[customer_col, item_col]].dropna().drop_duplicates()
    seg = segments[[customer_col, segment_col]].drop_duplicates(customer_col)
    data = owned.merge(seg, on=customer_col)
    if data.empty:
        raise AnalyticsInputError("no purchases match the segmented customers")
    n_all = seg[customer_col].nunique()
    seg_size = seg.groupby(segment_col)[customer_col].nunique()
    overall = data.groupby(item_col)[customer_col].nunique() / n_all
    by = data.groupby([segment_col, item_col])[customer_col].nunique().rename("customers").reset_index()
    by = by[by["customers"] >= min_customers]
    if by.empty:  # no product reaches min_customers in any segment (small data): nothing to prefer
        return by.assign(share=pd.Series(dtype="float64"), lift=pd.Series(dtype="float64")).reset_index(drop=True)
    by["share"] = by["customers"] / by[segment_col].map(seg_size)
    by["lift"] = by["share"] / by[item_col].map(overall)
    by = by.sort_values([segment_col, "lift", "share"], ascending=[True, False, False])
    return by.groupby(segment_col).head(top_n).reset_index(drop=True)
