"""Clustering runs, saved to gold so "in cluster k of run R" runs in SQL.

A run's parameters, cluster ids and profile go to ``gold_cluster_runs``;
every customer's cluster to ``gold_cluster_assignments``. A box or lasso
selection on the map is saved the same way, as a run of kind "selection"
with one cluster (id 1) holding the selected customers: a static list that
the existing cluster membership condition compiles, validates and runs.

These tables have no pipeline model, so a rebuild never truncates them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services import naming, sqlfiles
from services.cluster_profiles import ClusterProfile, profile, profile_features
from services.clustering import CustomerClustering, FeatureScaler, check_features, fetch_features, log_columns
from services.errors import SpecError
from services.pipeline.audit import now
from services.segments.catalog import FEATURES_TABLE, FeatureCatalog
from services.segments.compiler.context import CLUSTER_TABLE
from services.segments.spec import Group, Membership, SegmentDefinition
from services.sqlterms import column, equals
from services.warehouse import count_rows

RUNS_TABLE = naming.fq("gold", "gold_cluster_runs")
ASSIGNMENTS_TABLE = CLUSTER_TABLE
EMBEDDINGS_TABLE = naming.fq("gold", "gold_cluster_embeddings")
SELECTION = "selection"
CLUSTERING = "clustering"
MAX_SELECTION = 200_000
ALGORITHM_SHORT = {"kmeans": "k-means", "gmm": "Gaussian mixture", "hdbscan": "HDBSCAN", SELECTION: "selection"}

Progress = Callable[[str, float], None]

_ready: "weakref.WeakSet[object]" = weakref.WeakSet()
_ready_lock = threading.Lock()


def ensure_tables(warehouse) -> None:
    """Create the gold tables this module writes when a warehouse predates them (once per warehouse)."""
    with _ready_lock:
        if warehouse in _ready:
            return
        for statement in sqlfiles.statements("ddl/gold.sql", warehouse.dialect):
            warehouse.execute(statement)
        _ready.add(warehouse)


def constant(value: str, rows: int) -> pa.DictionaryArray:
    """One text value on every row, dictionary-encoded: a million copies of an id load in a third of the time."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype="int32")), pa.array([value], pa.string()))


@dataclass(frozen=True)
class ClusterRun:
    run_id: str
    kind: str
    name: str
    author: str
    created_ts: datetime
    as_of_date: date | None
    algorithm: str
    scaling: str | None
    k: int | None
    features: tuple[str, ...]
    params: dict
    cluster_ids: tuple[int, ...]
    profile: ClusterProfile | None
    customers: int
    fit_seconds: float | None = None
    map_points: int | None = None
    map_seconds: float | None = None
    #: in-memory only, right after a fit: customer ids and cluster of each (not loaded back)
    labels: pd.Series | None = field(default=None, compare=False, repr=False)

    def cluster_name(self, cluster_id: int) -> str:
        return self.profile.name(cluster_id) if self.profile is not None else f"Cluster {cluster_id}"

    def membership(self, *cluster_ids: int) -> Membership:
        return Membership(of="cluster", run_id=self.run_id, cluster_ids=tuple(int(c) for c in cluster_ids))

    def segment(self, *cluster_ids: int, name: str | None = None) -> SegmentDefinition:
        """An ordinary segment definition: members of these clusters of this run."""
        label = " + ".join(self.cluster_name(c) for c in cluster_ids)
        return SegmentDefinition(
            name=name or (label if self.kind == SELECTION else f"{label} ({self.name})"),
            description=(f"Customers selected on the map of run {self.run_id}" if self.kind == SELECTION else
                         f"Cluster {', '.join(map(str, cluster_ids))} of clustering run {self.run_id} "
                         f"({self.algorithm}, k={self.k}, as of {self.as_of_date})"),
            rule=Group("all", (self.membership(*cluster_ids),)),
        )


@dataclass(frozen=True)
class RunTimings:
    fetch_s: float
    fit_s: float
    profile_s: float
    save_s: float

    @property
    def total_s(self) -> float:
        return self.fetch_s + self.fit_s + self.profile_s + self.save_s


def run_clustering(warehouse, catalog: FeatureCatalog, *, features, algorithm: str = "kmeans", k: int = 6,
                   scaling: str = "standard", random_state: int = 0, author: str, name: str | None = None,
                   progress: Progress | None = None) -> tuple[ClusterRun, RunTimings]:
    """Fetch features, fit, assign every customer, profile, and save the run."""
    say = progress or (lambda step, fraction: None)
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
        run_id=f"run-{uuid.uuid4().hex[:8]}", kind=CLUSTERING,
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


def save_run(warehouse, run: ClusterRun, customer_ids: np.ndarray, labels: np.ndarray) -> None:
    """Write the run's row and every customer's assignment."""
    ensure_tables(warehouse)
    assignments = pa.table({
        "run_id": constant(run.run_id, len(customer_ids)),
        "cluster_id": pa.array(np.asarray(labels, dtype="int32")),
        "customer_id": pa.array(np.asarray(customer_ids, dtype=object), pa.string()),
    })
    warehouse.append(ASSIGNMENTS_TABLE, assignments)
    warehouse.append(RUNS_TABLE, pd.DataFrame([{
        "run_id": run.run_id, "kind": run.kind, "name": run.name, "author": run.author,
        "created_ts": run.created_ts, "as_of_date": run.as_of_date, "algorithm": run.algorithm,
        "scaling": run.scaling, "k": run.k, "features_json": json.dumps(list(run.features)),
        "params_json": json.dumps(run.params), "cluster_ids_json": json.dumps(list(run.cluster_ids)),
        "profile_json": json.dumps(run.profile.to_dict()) if run.profile is not None else None,
        "customers": int(run.customers), "fit_seconds": run.fit_seconds,
        "map_points": None, "map_seconds": None,
    }]).astype({"k": "Int64", "map_points": "Int64", "fit_seconds": "float64", "map_seconds": "float64"}))


def save_selection(warehouse, customer_ids, *, name: str, author: str, as_of_date: date | None,
                   source_run_id: str | None = None) -> ClusterRun:
    """A static list of customers (a map selection) as a one-cluster run; unknown ids are dropped."""
    ids = list(dict.fromkeys(str(c) for c in customer_ids))
    if not ids:
        raise SpecError("the selection is empty: draw a box or lasso around some points first")
    if len(ids) > MAX_SELECTION:
        raise SpecError(f"{len(ids):,} customers selected; a static selection holds at most {MAX_SELECTION:,}")
    run = ClusterRun(
        run_id=f"sel-{uuid.uuid4().hex[:8]}", kind=SELECTION, name=name, author=author, created_ts=now(),
        as_of_date=as_of_date, algorithm=SELECTION, scaling=None, k=1, features=(),
        params={"source_run_id": source_run_id}, cluster_ids=(1,), profile=None, customers=len(ids),
    )
    save_run(warehouse, run, np.array(ids, dtype=object), np.ones(len(ids), dtype="int32"))
    # Only customers of the gold table can be members; anything else in the list is dropped.
    unknown = column("customer_id").isin(query=exp.select(column("customer_id")).from_(FEATURES_TABLE)).not_()
    warehouse.execute(exp.delete(ASSIGNMENTS_TABLE, where=exp.and_(equals("run_id", run.run_id), unknown)))
    kept = count_rows(warehouse, ASSIGNMENTS_TABLE, equals("run_id", run.run_id))
    warehouse.execute(exp.update(RUNS_TABLE, {"customers": exp.convert(kept)}, where=equals("run_id", run.run_id)))
    return load_run(warehouse, run.run_id)


def list_runs(warehouse, *, kind: str | None = CLUSTERING) -> pd.DataFrame:
    """Saved runs, newest first (without their profiles)."""
    ensure_tables(warehouse)
    columns = ["run_id", "kind", "name", "author", "created_ts", "as_of_date", "algorithm", "scaling", "k",
               "customers", "map_points"]
    query = exp.select(*[column(c) for c in columns]).from_(RUNS_TABLE)
    if kind is not None:
        query = query.where(equals("kind", kind))
    return warehouse.df(query.order_by(exp.Ordered(this=column("created_ts"), desc=True)))


def catalog_runs(warehouse) -> dict[str, tuple[int, ...]]:
    """{run_id: cluster ids} of every saved run and selection, for the feature catalog."""
    ensure_tables(warehouse)
    rows = warehouse.arrow(exp.select(column("run_id"), column("cluster_ids_json")).from_(RUNS_TABLE)).to_pylist()
    return {r["run_id"]: tuple(int(c) for c in json.loads(r["cluster_ids_json"])) for r in rows}


def load_run(warehouse, run_id: str) -> ClusterRun:
    ensure_tables(warehouse)
    rows = warehouse.arrow(exp.select("*").from_(RUNS_TABLE).where(equals("run_id", run_id))).to_pylist()
    if not rows:
        raise SpecError(f"clustering run {run_id!r} does not exist")
    r = rows[0]
    return ClusterRun(
        run_id=r["run_id"], kind=r["kind"], name=r["name"], author=r["author"], created_ts=r["created_ts"],
        as_of_date=r["as_of_date"], algorithm=r["algorithm"], scaling=r["scaling"], k=r["k"],
        features=tuple(json.loads(r["features_json"])), params=json.loads(r["params_json"] or "{}"),
        cluster_ids=tuple(json.loads(r["cluster_ids_json"])),
        profile=ClusterProfile.from_dict(json.loads(r["profile_json"])) if r["profile_json"] else None,
        customers=int(r["customers"]), fit_seconds=r["fit_seconds"], map_points=r["map_points"],
        map_seconds=r["map_seconds"],
    )


def assignments(warehouse, run_id: str) -> pd.Series:
    """The saved cluster of every customer of a run, indexed by customer_id."""
    frame = warehouse.df(exp.select(column("customer_id"), column("cluster_id")).from_(ASSIGNMENTS_TABLE)
                         .where(equals("run_id", run_id)).order_by(column("customer_id")))
    return frame.set_index("customer_id")["cluster_id"]
