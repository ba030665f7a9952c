"""What each cluster is: size, share, revenue share, z-scores, a name, and a rule.

The rule explanation is a shallow decision tree (cluster vs everyone else)
turned into Segment Builder conditions: each leaf that predicts the cluster
is an AND of thresholds, the leaves are ORed. Thresholds are rounded to
readable values *before* precision and recall are measured, so the figures
shown are those of the rule a marketer will actually run in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.discovery.clustering import NOISE, sample_rows
from services.errors import SpecError
from services.segments.catalog import FeatureCatalog
from services.segments.spec import Group, SegmentDefinition, Trait

#: shown in every profile besides the clustering features
KEY_FEATURES = ("monetary", "frequency", "recency_days", "avg_order_value", "online_share", "discount_share")
#: (word when high, word when low), for names; other features get "High <label>" / "Low <label>"
WORDS = {
    "monetary": ("high spend", "low spend"),
    "spend_365d": ("high spend this year", "low spend this year"),
    "spend_90d": ("high recent spend", "low recent spend"),
    "spend_30d": ("high spend this month", "low spend this month"),
    "frequency": ("frequent", "infrequent"),
    "orders_365d": ("frequent this year", "rare this year"),
    "orders_90d": ("frequent lately", "rare lately"),
    "recency_days": ("lapsed", "recent"),
    "online_share": ("online", "in-store"),
    "avg_order_value": ("big baskets", "small baskets"),
    "discount_share": ("deal seekers", "full price"),
    "refund_rate": ("returns-heavy", "few returns"),
    "distinct_categories": ("broad range", "narrow range"),
    "tenure_days": ("long-standing", "new"),
    "mean_days_between_purchases": ("long gaps", "short gaps"),
    "email_opt_in": ("email opt-in", "no email opt-in"),
    "sms_opt_in": ("SMS opt-in", "no SMS opt-in"),
    "push_opt_in": ("push opt-in", "no push opt-in"),
}
NAME_Z = 0.35        # a feature must differ by this many standard deviations to name a cluster
NAME_WORDS = 3
TREE_DEPTH = 3
TREE_SAMPLE = 60_000


@dataclass(frozen=True)
class RuleExplanation:
    """A readable rule for one cluster and how well it matches the cluster."""

    cluster_id: int
    definition: SegmentDefinition
    precision: float     # of the customers the rule selects, the share in the cluster
    recall: float        # of the cluster, the share the rule selects
    selected: int        # customers the rule selects

    def to_dict(self) -> dict:
        return {"cluster_id": self.cluster_id, "definition": self.definition.to_dict(), "precision": self.precision,
                "recall": self.recall, "selected": self.selected}

    @classmethod
    def from_dict(cls, data: dict) -> RuleExplanation:
        return cls(int(data["cluster_id"]), SegmentDefinition.from_dict(data["definition"]), float(data["precision"]),
                   float(data["recall"]), int(data["selected"]))


@dataclass(frozen=True)
class ClusterProfile:
    """Per-cluster figures: one row per cluster, and z-scores per cluster and feature."""

    summary: pd.DataFrame      # cluster_id, name, size, share, revenue_share, + mean of each feature
    zscores: pd.DataFrame      # index cluster_id, columns features
    rules: dict[int, RuleExplanation]

    def name(self, cluster_id: int) -> str:
        row = self.summary.loc[self.summary["cluster_id"] == cluster_id, "name"]
        return str(row.iloc[0]) if len(row) else f"Cluster {cluster_id}"

    def to_dict(self) -> dict:
        return {"summary": self.summary.to_dict(orient="list"),
                "zscores": {"index": [int(i) for i in self.zscores.index], "columns": list(self.zscores.columns),
                            "data": self.zscores.to_numpy().tolist()},
                "rules": {str(k): r.to_dict() for k, r in self.rules.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> ClusterProfile:
        z = data["zscores"]
        return cls(pd.DataFrame(data["summary"]),
                   pd.DataFrame(z["data"], index=pd.Index(z["index"], name="cluster_id"), columns=z["columns"]),
                   {int(k): RuleExplanation.from_dict(v) for k, v in data["rules"].items()})


def profile_features(catalog: FeatureCatalog, features) -> tuple[str, ...]:
    present = set(catalog.names)
    return tuple(dict.fromkeys([*features, *(f for f in KEY_FEATURES if f in present)]))


def profile(frame: pd.DataFrame, labels: np.ndarray, catalog: FeatureCatalog, *,
            random_state: int = 0) -> ClusterProfile:
    """Profile every cluster of ``labels`` over the raw (unscaled) feature ``frame``.

    ``frame`` must hold ``monetary`` for the revenue share. Rules use the
    frame's columns without missing values, since a missing value never
    satisfies a SQL comparison.
    """
    values = frame.to_numpy(dtype="float64")
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0)
    std = np.where(std > 0, std, 1.0)
    revenue = frame["monetary"].to_numpy(dtype="float64") if "monetary" in frame else np.zeros(len(frame))
    total_revenue = float(np.nansum(revenue)) or 1.0
    rows, z_rows = [], []
    ids = sorted(int(c) for c in np.unique(labels))
    for cluster in ids:
        mask = labels == cluster
        means = np.nanmean(values[mask], axis=0)
        z = (means - mean) / std
        z_rows.append(z)
        rows.append({"cluster_id": cluster, "size": int(mask.sum()), "share": float(mask.mean()),
                     "revenue_share": float(np.nansum(revenue[mask]) / total_revenue),
                     **{f"mean_{c}": float(m) for c, m in zip(frame.columns, means)}})
    zscores = pd.DataFrame(z_rows, index=pd.Index(ids, name="cluster_id"), columns=list(frame.columns))
    summary = pd.DataFrame(rows)
    summary.insert(1, "name", unique_names([cluster_name(zscores.loc[c], catalog) if c != NOISE
                                            else "Noise: in no dense group" for c in ids], ids))
    usable = tuple(c for c in frame.columns if not frame[c].isna().any())
    rules = explain(frame[list(usable)], labels, catalog, summary, random_state=random_state) if usable else {}
    return ClusterProfile(summary, zscores, rules)


def cluster_name(z: pd.Series, catalog: FeatureCatalog) -> str:
    """'High spend, frequent, online': the most distinctive features, strongest first."""
    ranked = z.abs().sort_values(ascending=False)
    words = []
    for feature in ranked.index:
        if abs(z[feature]) < NAME_Z or len(words) == NAME_WORDS:
            break
        high, low = WORDS.get(feature) or (f"high {_label(catalog, feature)}", f"low {_label(catalog, feature)}")
        word = high if z[feature] > 0 else low
        if word not in words:
            words.append(word)
    if not words:
        return "Typical customers"
    text = ", ".join(words)
    return text[0].upper() + text[1:]


def _label(catalog: FeatureCatalog, feature: str) -> str:
    try:
        return catalog.feature(feature).label.lower()
    except SpecError:  # a feature outside the catalog keeps its column name
        return feature.replace("_", " ")


def unique_names(names: list[str], ids: list[int]) -> list[str]:
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [f"{n} ({i})" if seen[n] > 1 else n for n, i in zip(names, ids)]


# -- rule explanation -------------------------------------------------------------
def _readable(value: float, integer: bool) -> float:
    """Round a tree threshold to a value a person would write."""
    if integer:
        return float(np.floor(value))  # x <= 2.5 is x <= 2 on whole numbers
    magnitude = abs(value)
    digits = 3 if magnitude < 1 else (2 if magnitude < 100 else (1 if magnitude < 1000 else 0))
    return float(round(value, digits))


def _paths(tree, feature_names: list[str]) -> list[list[tuple[str, str, float]]]:
    """Root-to-leaf paths of leaves whose majority is the cluster: [(feature, 'le'|'gt', threshold)]."""
    t = tree.tree_
    out = []

    def visit(node: int, path: list) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            if len(counts) > 1 and counts[1] > counts[0]:
                out.append(path)
            return
        name, threshold = feature_names[t.feature[node]], float(t.threshold[node])
        visit(t.children_left[node], [*path, (name, "le", threshold)])
        visit(t.children_right[node], [*path, (name, "gt", threshold)])

    visit(0, [])
    return out


def _conditions(path, catalog: FeatureCatalog) -> list[Trait]:
    """The tightest bound per feature and side, as rounded traits."""
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    for name, side, threshold in path:
        if side == "le":
            highs[name] = min(highs.get(name, np.inf), threshold)
        else:
            lows[name] = max(lows.get(name, -np.inf), threshold)
    traits = []
    for name in dict.fromkeys([n for n, _, _ in path]):
        meta = catalog.feature(name)
        integer = meta.integer or meta.type == "boolean"
        cast = int if integer else float
        if meta.type == "boolean":
            # a yes/no flag split at 0.5: "> 0.5" is "is true"
            traits.append(Trait(name, "is_true" if name in lows else "is_false"))
            continue
        if name in lows:
            low = _readable(lows[name], integer)
            traits.append(Trait(name, "gt", value=cast(low)))
        if name in highs:
            high = _readable(highs[name], integer)
            traits.append(Trait(name, "lte", value=cast(high)))
    return traits


def evaluate(condition, frame: pd.DataFrame) -> np.ndarray:
    """The rows a rule selects, in memory, with SQL's semantics for the operators a rule uses."""
    if isinstance(condition, Group):
        parts = [evaluate(c, frame) for c in condition.conditions]
        if not parts:
            out = np.full(len(frame), condition.match == "all")
        else:
            out = np.logical_and.reduce(parts) if condition.match == "all" else np.logical_or.reduce(parts)
        return ~out if condition.negate else out
    column = frame[condition.field].to_numpy(dtype="float64")
    known = ~np.isnan(column)  # NULL never satisfies a comparison in SQL
    ops = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}
    if condition.op in ops:
        return known & ops[condition.op](np.where(known, column, 0), float(condition.value))
    if condition.op == "is_true":
        return known & (column == 1)
    if condition.op == "is_false":
        return known & (column == 0)
    raise ValueError(f"rule explanations do not use operator {condition.op}")


def explain(frame: pd.DataFrame, labels: np.ndarray, catalog: FeatureCatalog, summary: pd.DataFrame, *,
            max_depth: int = TREE_DEPTH, random_state: int = 0) -> dict[int, RuleExplanation]:
    """A rule per cluster from a depth-``max_depth`` tree (cluster vs the rest), scored on every row."""
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(random_state)
    sample = sample_rows(rng, len(frame), TREE_SAMPLE)
    X = frame.to_numpy(dtype="float64")
    names = list(frame.columns)
    out = {}
    for cluster in sorted(int(c) for c in np.unique(labels) if c != NOISE):
        target = labels == cluster
        tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(5, len(sample) // 200),
                                      class_weight="balanced", random_state=random_state)
        tree.fit(X[sample], target[sample])
        paths = _paths(tree, names)
        name = summary.loc[summary["cluster_id"] == cluster, "name"].iloc[0]
        leaves = [Group("all", tuple(_conditions(p, catalog))) for p in paths if p]
        if not leaves:
            continue
        definition = SegmentDefinition(name=f"{name} (rule)",
                                       rule=leaves[0] if len(leaves) == 1 else Group("any", tuple(leaves)),
                                       description=f"Rule describing cluster {cluster}: {name}")
        selected = evaluate(definition.rule, frame)
        hits = int((selected & target).sum())
        out[cluster] = RuleExplanation(cluster, definition,
                                       precision=hits / int(selected.sum()) if selected.any() else 0.0,
                                       recall=hits / int(target.sum()) if target.any() else 0.0,
                                       selected=int(selected.sum()))
    return out
