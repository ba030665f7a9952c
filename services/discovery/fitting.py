"""Fit a discovery model on the warehouse and save it: a clustering run, a run's map, a lookalike.

Each function fetches gold features, fits the model (``clustering``,
``maps``, ``lookalike``), saves the result (``store``) and reports progress
and timings, so pages and benchmarks run exactly the same steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from services.clock import new_id, now
from services.discovery.clustering import (
    CustomerClustering,
    FeatureScaler,
    check_features,
    clusterable,
    fetch_features,
    log_columns,
)
from services.discovery.lookalike import DEFAULT_FEATURES, LookalikeModel
from services.discovery.maps import DEFAULT_POINTS, MapEmbedding, stratified_sample
from services.discovery.profiles import profile, profile_features
from services.discovery.store import (
    ALGORITHM_SHORT,
    CLUSTERING,
    SELECTION,
    ClusterRun,
    SavedLookalike,
    assignments,
    load_run,
    save_map,
    save_model,
    save_run,
)
from services.errors import SpecError
from services.segments.catalog import FeatureCatalog
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace
from services.warehouse import Warehouse

Progress = Callable[[str, float], None]


def _quiet(step: str, fraction: float) -> None:
    """The progress callback when the caller wants none."""

@dataclass(frozen=True)
class RunTimings:
    fetch_s: float
    fit_s: float
    profile_s: float
    save_s: float

    @property
    def total_s(self) -> float:
        return self.fetch_s + self.fit_s + self.profile_s + self.save_s


def run_clustering(warehouse: Warehouse, catalog: FeatureCatalog, *, features, algorithm: str = "kmeans", k: int = 6,
                   scaling: str = "standard", random_state: int = 0, author: str, name: str | None = None,
                   progress: Progress | None = None) -> tuple[ClusterRun, RunTimings]:
    """Fetch features, fit, assign every customer, profile, and save the run."""
    say = progress or _quiet
    features = check_features(catalog, features)
    say("fetching features", 0.05)
    t0 = time.perf_counter()
    frame = fetch_features(warehouse, catalog, profile_features(catalog, features))
    t1 = time.perf_counter()
    say(f"fitting {algorithm} on {len(frame):,} customers", 0.25)
    scaler = FeatureScaler(scaling, log_columns=log_columns(catalog, features))
    X = scaler.fit_transform(frame[list(features)])
    model = CustomerClustering(algorithm, k, random_state=random_state).fit(X)
    t2 = time.perf_counter()
    say("profiling clusters and explaining them as rules", 0.6)
    prof = profile(frame, model.labels_, catalog, random_state=random_state)
    t3 = time.perf_counter()
    say("saving the run", 0.85)
    run = ClusterRun(
        run_id=new_id("run"), kind=CLUSTERING,
        name=name or f"{ALGORITHM_SHORT.get(algorithm, algorithm)} k={model.n_clusters_} on {len(features)} features",
        author=author, created_ts=now(), as_of_date=catalog.as_of_date, algorithm=algorithm, scaling=scaling,
        k=int(model.n_clusters_), features=features,
        params={"k": int(k), "random_state": int(random_state), "fit_sample": model.fit_sample},
        cluster_ids=tuple(int(c) for c in prof.summary["cluster_id"]), profile=prof, customers=len(frame),
        fit_seconds=t2 - t1, labels=pd.Series(model.labels_, index=frame.index, name="cluster_id"),
    )
    save_run(warehouse, run, frame.index.to_numpy(), model.labels_)
    t4 = time.perf_counter()
    say("done", 1.0)
    return run, RunTimings(t1 - t0, t2 - t1, t3 - t2, t4 - t3)



@dataclass(frozen=True)
class MapTimings:
    prepare_s: float
    embed_s: float
    save_s: float

    @property
    def total_s(self) -> float:
        return self.prepare_s + self.embed_s + self.save_s


def compute_map(warehouse: Warehouse, catalog: FeatureCatalog, run_id: str, *, points: int = DEFAULT_POINTS,
                random_state: int = 0, n_epochs: int | None = None,
                progress: Progress | None = None) -> MapTimings:
    """Embed a stratified sample of a run's customers and save it (replacing an earlier map of the run)."""
    say = progress or _quiet
    run = load_run(warehouse, run_id)
    if run.kind == SELECTION or not run.features:
        raise SpecError(f"{run_id} is a saved selection, not a clustering run: it has no map")
    t0 = time.perf_counter()
    say("sampling customers by cluster", 0.02)
    labels = assignments(warehouse, run_id)
    chosen = stratified_sample(labels, int(points), random_state=random_state)
    frame = fetch_features(warehouse, catalog, run.features)
    scaler = FeatureScaler(run.scaling or "standard", log_columns=log_columns(catalog, run.features)).fit(frame)
    X = scaler.transform(frame.loc[chosen])
    t1 = time.perf_counter()
    say(f"laying out {len(chosen):,} customers with UMAP", 0.1)
    embedding = MapEmbedding(n_epochs=n_epochs, random_state=random_state).fit(X).embedding_
    t2 = time.perf_counter()
    say("saving the map", 0.95)
    save_map(warehouse, run_id, chosen, labels.loc[chosen].to_numpy(), embedding, seconds=t2 - t0)
    return MapTimings(t1 - t0, t2 - t1, time.perf_counter() - t2)



def seed_members(workspace: Workspace, seed: SegmentDefinition) -> set[str]:
    compiled = workspace.compile(seed)
    return set(workspace.warehouse.arrow(compiled.members_query()).column("customer_id").to_pylist())


def lookalike_features(catalog: FeatureCatalog) -> tuple[str, ...]:
    allowed = set(clusterable(catalog))
    return tuple(f for f in DEFAULT_FEATURES if f in allowed)


@dataclass(frozen=True)
class LookalikeTimings:
    fetch_s: float
    fit_s: float
    save_s: float

    @property
    def total_s(self) -> float:
        return self.fetch_s + self.fit_s + self.save_s


def train_lookalike(workspace: Workspace, seed: SegmentDefinition, *, author: str,
                    seed_segment_id: str | None = None, algorithm: str = "logistic", features=None,
                    random_state: int = 0,
                    progress: Progress | None = None) -> tuple[SavedLookalike, LookalikeModel, LookalikeTimings]:
    """Fit on the seed (compiled in ``workspace``), score every customer outside it, save model and scores."""
    warehouse, catalog = workspace.warehouse, workspace.catalog
    say = progress or _quiet
    say("finding the seed's members", 0.05)
    t0 = time.perf_counter()
    members = seed_members(workspace, seed)
    frame = fetch_features(warehouse, catalog, features or lookalike_features(catalog))
    t1 = time.perf_counter()
    say(f"learning what sets {len(members):,} seed customers apart", 0.3)
    model = LookalikeModel(algorithm, random_state=random_state).fit(frame, frame.index.isin(list(members)))
    t2 = time.perf_counter()
    say("saving scores", 0.8)
    saved = SavedLookalike(
        model_id=new_id("lal"), name=f"Lookalikes of {seed.name}", author=author, created_ts=now(),
        as_of_date=catalog.as_of_date, seed_segment_id=seed_segment_id, seed=seed, seed_size=model.seed_size_,
        eligible=len(model.scores_), algorithm=algorithm, features=model.features_, auc=model.auc_,
        curve=model.curve_, factors=model.factors_, fit_seconds=t2 - t1,
    )
    save_model(warehouse, saved, model)
    t3 = time.perf_counter()
    say("done", 1.0)
    return saved, model, LookalikeTimings(t1 - t0, t2 - t1, t3 - t2)

