"""Lookalikes: grow a seed audience into the customers most like it.

A positive-unlabelled classifier: seed members are the positives, everyone
else is unlabelled (some of them are exactly the people we want to find).
The classifier learns what sets the seed apart from the base; every customer
outside the seed is then ranked by its score. ``reach_pct`` is a customer's
rank percentile among those eligible customers, best first, so "lookalike at
reach r" is simply ``reach_pct <= r`` in SQL.

Quality is measured honestly on seed members held out from training: at a
reach r, the share of them that rank inside the top r% of the eligible base
(recall), and the AUC of held-out members against the eligible base. Since
the base still contains unlabelled lookalikes, both figures are lower bounds.

The reach-vs-similarity curve is computed once at fine steps, so moving the
reach slider is a table lookup, never a refit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from services.discovery.clustering import FeatureScaler, sample_rows
from services.errors import SpecError

ALGORITHMS = {"logistic": "logistic regression", "boosting": "gradient boosting"}
MIN_SEED = 50
MAX_REACH = 20.0
CURVE_STEP = 0.1
#: the features a lookalike learns from by default (numbers and flags of the gold table)
DEFAULT_FEATURES = ("recency_days", "frequency", "monetary", "avg_order_value", "spend_30d", "spend_90d",
                    "spend_365d", "orders_30d", "orders_90d", "orders_365d", "distinct_categories",
                    "online_share", "refund_rate", "discount_share", "mean_days_between_purchases", "tenure_days",
                    "email_opt_in", "sms_opt_in", "push_opt_in")


@dataclass(frozen=True)
class ReachPoint:
    reach_pct: float
    members: int            # eligible customers within the reach
    min_score: float        # the similarity of the last customer in
    heldout_recall: float   # share of held-out seed members that would have been reached


class LookalikeModel(BaseEstimator):
    """Fit on a feature frame and a boolean seed mask; score everyone outside the seed.

    ``algorithm``: "logistic" (standardised features, balanced logistic
    regression) or "boosting" (histogram gradient boosting). ``holdout`` is
    the share of the seed kept out of training to measure quality;
    ``max_positives`` and ``max_unlabelled`` cap the rows sampled for training
    (every customer is still scored): beyond ~150,000 rows a linear model
    learns nothing new, it only takes longer.
    """

    def __init__(self, algorithm: str = "logistic", *, holdout: float = 0.2, max_positives: int = 50_000,
                 max_unlabelled: int = 100_000, min_seed: int = MIN_SEED, random_state: int = 0):
        self.algorithm = algorithm
        self.holdout = holdout
        self.max_positives = max_positives
        self.max_unlabelled = max_unlabelled
        self.min_seed = min_seed
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, seed) -> LookalikeModel:
        if self.algorithm not in ALGORITHMS:
            raise SpecError(f"lookalike algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        seed = np.asarray(seed, dtype=bool)
        n_seed = int(seed.sum())
        if n_seed < self.min_seed:
            raise SpecError(f"the seed has {n_seed:,} customers; a lookalike needs at least {self.min_seed:,} "
                            "to learn from. Pick a larger seed segment or loosen its rule.")
        eligible = np.flatnonzero(~seed)
        if len(eligible) == 0:
            raise SpecError("the seed holds every customer: there is no one left to find")
        rng = np.random.default_rng(self.random_state)
        positives = rng.permutation(np.flatnonzero(seed))
        n_held = max(1, int(round(self.holdout * n_seed)))
        held, train_pos = np.sort(positives[:n_held]), np.sort(positives[n_held:n_held + self.max_positives])
        unlabelled = np.sort(sample_rows(rng, eligible, self.max_unlabelled))
        train = np.concatenate([train_pos, unlabelled])
        y = np.concatenate([np.ones(len(train_pos)), np.zeros(len(unlabelled))])

        self.features_ = tuple(X.columns)
        self.scaler_ = FeatureScaler("standard").fit(X.iloc[unlabelled])
        Z = self.scaler_.transform(X)
        self.classifier_ = self._classifier().fit(Z[train], y)
        scores = self._score(Z[eligible])
        held_scores = self._score(Z[held])

        order = np.argsort(-scores, kind="stable")  # ties keep the frame's (customer id) order
        n = len(eligible)
        # Rank r (1 = best score) reaches r/n of the eligible base; in rank order that is the
        # sorted reach, kept so the slider's lookups need no sort.
        self.sorted_reach_pct_ = np.arange(1, n + 1) * (100.0 / n)
        reach = np.empty(n)
        reach[order] = self.sorted_reach_pct_
        self.eligible_index_ = X.index[eligible]
        self.scores_ = scores
        self.reach_pct_ = reach
        self.sorted_scores_ = scores[order]
        self.heldout_scores_ = np.sort(held_scores)
        self.seed_size_ = n_seed
        self.auc_ = _auc(held_scores, scores)
        self.factors_ = self._factors(X, seed, Z, train, y)
        self.curve_ = self._curve()
        return self

    def _classifier(self):
        if self.algorithm == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=1.0, tol=1e-3, max_iter=500, class_weight="balanced",
                                      random_state=self.random_state)
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.03, max_depth=2, min_samples_leaf=50,
                                              class_weight="balanced", early_stopping=False,
                                              random_state=self.random_state)

    def _score(self, Z: np.ndarray) -> np.ndarray:
        return self.classifier_.predict_proba(Z)[:, 1] if len(Z) else np.zeros(0)

    def _factors(self, X: pd.DataFrame, seed: np.ndarray, Z: np.ndarray, train: np.ndarray,
                 y: np.ndarray) -> pd.DataFrame:
        """What sets the seed apart: the model's weight per feature, with seed and base means beside it."""
        if self.algorithm == "logistic":
            weight = self.classifier_.coef_[0]  # per standard deviation, since the features are standardised
        else:
            from sklearn.inspection import permutation_importance

            rng = np.random.default_rng(self.random_state)
            pick = sample_rows(rng, len(train), 4_000)
            result = permutation_importance(self.classifier_, Z[train[pick]], y[pick], n_repeats=3, scoring="roc_auc",
                                            random_state=self.random_state)
            sign = np.sign(Z[seed].mean(axis=0) - Z[~seed].mean(axis=0))
            weight = result.importances_mean * np.where(sign == 0, 1, sign)
        # Means over the training rows: every seed member used, and the unlabelled sample for the base.
        values = X.iloc[train].to_numpy(dtype="float64")
        frame = pd.DataFrame({
            "feature": list(self.features_), "weight": weight,
            "seed_mean": np.nanmean(values[y == 1], axis=0), "base_mean": np.nanmean(values[y == 0], axis=0),
        })
        # The seed has more or less of a feature by the means: a multivariate weight can point the
        # other way (two features that move together share the credit), so it never says which.
        frame["direction"] = _direction(frame)
        return frame.reindex(frame["weight"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def reach(self, reach_pct: float) -> ReachPoint:
        """Who is in at ``reach_pct`` percent of the eligible base, and held-out recall there."""
        reach_pct = float(reach_pct)
        if not 0 < reach_pct <= 100:
            raise SpecError(f"reach must be between 0 and 100 percent, got {reach_pct:g}")
        members = int(np.searchsorted(self.sorted_reach_pct_, reach_pct, side="right"))
        return self._point(reach_pct, members)

    def _point(self, reach_pct: float, members: int) -> ReachPoint:
        if members == 0:
            return ReachPoint(reach_pct, 0, float("nan"), 0.0)
        threshold = float(self.sorted_scores_[members - 1])
        reached = len(self.heldout_scores_) - int(np.searchsorted(self.heldout_scores_, threshold, side="left"))
        return ReachPoint(reach_pct, members, threshold, reached / len(self.heldout_scores_))

    def _curve(self) -> pd.DataFrame:
        n = len(self.sorted_scores_)
        steps = np.round(np.arange(CURVE_STEP, MAX_REACH + CURVE_STEP / 2, CURVE_STEP), 4)
        points = [self._point(float(r), int(np.searchsorted(self.sorted_reach_pct_, r, side="right")))
                  for r in steps]
        frame = pd.DataFrame([p.__dict__ for p in points])
        frame["eligible"] = n
        return frame

    def members(self, reach_pct: float) -> pd.Index:
        """Customer ids within the reach (the in-memory twin of the SQL membership)."""
        return self.eligible_index_[self.reach_pct_ <= float(reach_pct)]


#: what a factor's weight measures, per algorithm
WEIGHT_UNITS = {"logistic": "log-odds per standard deviation", "boosting": "AUC lost when shuffled"}


def _direction(factors: pd.DataFrame) -> np.ndarray:
    return np.where(factors["seed_mean"] >= factors["base_mean"], "more", "less")


def describe_factors(factors: pd.DataFrame, algorithm: str) -> pd.DataFrame:
    """"What sets the seed apart", as shown: the direction from the seed-vs-base means (also for models
    saved when it came from the weight), the means, and the model's weight (in ``WEIGHT_UNITS``)."""
    return pd.DataFrame({
        "feature": factors["feature"], "seed has": _direction(factors), "seed mean": factors["seed_mean"],
        "everyone else": factors["base_mean"], "model weight": factors["weight"],
    })


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a held-out seed member outranks an eligible customer), ties counting half (Mann-Whitney)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    ordered = np.sort(negative)
    below = np.searchsorted(ordered, positive, side="left")
    ties = np.searchsorted(ordered, positive, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(positive) * len(negative)))


def curve_point(curve: pd.DataFrame, reach_pct: float) -> dict:
    """The curve's row at a slider position (the nearest computed step at or below it)."""
    position = int(np.searchsorted(curve["reach_pct"].to_numpy(), float(reach_pct) + 1e-9, side="right")) - 1
    return curve.iloc[max(position, 0)].to_dict()
