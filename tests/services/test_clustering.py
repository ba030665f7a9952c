"""Clustering on generated data with planted groups: known answers, no warehouse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from services.discovery.clustering import CustomerClustering, FeatureScaler, suggest_k
from services.errors import SpecError

#: the bar the planted-group tests hold every algorithm to
ARI_BAR = 0.9


def planted(n: int = 6_000, groups: int = 4, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """``groups`` well-separated blobs in 5 features, of unequal sizes (so ids by size are meaningful)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([0.4, 0.3, 0.2, 0.1][:groups]) * n
    centres = rng.normal(scale=6.0, size=(groups, 5))
    parts, truth = [], []
    for g, size in enumerate(sizes.astype(int)):
        parts.append(centres[g] + rng.normal(size=(size, 5)))
        truth += [g] * size
    frame = pd.DataFrame(np.vstack(parts), columns=[f"f{i}" for i in range(5)])
    return frame, np.array(truth)


@pytest.mark.parametrize("algorithm", [
    pytest.param("kmeans", id="kmeans"),
    pytest.param("gmm", id="gmm"),
    pytest.param("hdbscan", id="hdbscan"),
])
def test_planted_groups_are_recovered(algorithm):
    frame, truth = planted()
    X = FeatureScaler("standard").fit_transform(frame)
    model = CustomerClustering(algorithm, 4, fit_sample=3_000, hdbscan_sample=2_000, random_state=0).fit(X)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(truth, model.labels_) > ARI_BAR


def test_cluster_ids_are_one_to_k_by_size():
    frame, truth = planted()
    model = CustomerClustering("kmeans", 4, random_state=1).fit(FeatureScaler().fit_transform(frame))
    sizes = pd.Series(model.labels_).value_counts()
    assert list(sizes.index) == [1, 2, 3, 4]
    assert sizes.is_monotonic_decreasing


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_runs_are_reproducible_with_a_fixed_random_state(algorithm):
    frame, _ = planted(n=3_000, seed=9)
    X = FeatureScaler("robust").fit_transform(frame)
    a = CustomerClustering(algorithm, 3, fit_sample=1_000, random_state=7).fit(X)
    b = CustomerClustering(algorithm, 3, fit_sample=1_000, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(X[:50]), a.labels_[:50])


def test_estimator_contract():
    from sklearn.base import clone

    model = CustomerClustering("gmm", 5, random_state=3)
    assert clone(model).get_params() == model.get_params()
    assert (model.algorithm, model.n_clusters, model.random_state) == ("gmm", 5, 3)
    assert not [k for k in vars(model) if k.endswith("_")]
    frame, _ = planted(n=600)
    assert model.fit(FeatureScaler().fit_transform(frame)) is model
    assert {"labels_", "n_clusters_", "model_"} <= set(vars(model))


def test_log1p_scaling_tames_long_tails_and_keeps_the_sign():
    frame = pd.DataFrame({"monetary": [-10.0, 0.0, 10.0, 1e6], "share": [0.1, 0.2, 0.3, np.nan]})
    scaler = FeatureScaler("log1p", log_columns=("monetary",)).fit(frame)
    out = scaler.transform(frame)
    assert np.isfinite(out).all()
    assert out[0, 0] < out[1, 0] < out[2, 0] < out[3, 0]
    assert out[3, 0] < 2.0  # without the log, one whale would sit ~1.7 std away and squash the rest together
    assert out[3, 1] == pytest.approx((0.2 - scaler.center_[1]) / scaler.scale_[1])  # median fills the gap


def test_suggested_k_is_the_planted_number_of_groups():
    frame, _ = planted(n=4_000, groups=4)
    suggestion = suggest_k(FeatureScaler().fit_transform(frame), k_range=range(2, 8), sample=4_000,
                           silhouette_sample=1_500)
    assert suggestion.best_k == 4
    assert list(suggestion.table["k"]) == list(range(2, 8))
    assert suggestion.table["inertia"].is_monotonic_decreasing


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"algorithm": "dbscan"}, "not one of", id="unknown-algorithm"),
    pytest.param({"n_clusters": 1}, "between 2 and", id="k-too-small"),
])
def test_bad_parameters_are_refused(kwargs, message):
    frame, _ = planted(n=300)
    with pytest.raises(SpecError, match=message):
        CustomerClustering(**{"algorithm": "kmeans", "n_clusters": 3, **kwargs}).fit(frame.to_numpy())
