"""Saved discovery results in gold: clustering runs, map selections, maps and lookalike models.

A run's parameters, cluster ids and profile go to ``gold_cluster_runs``;
every customer's cluster to ``gold_cluster_assignments``, so "in cluster k of
run R" runs in SQL. A box or lasso selection on the map is saved the same
way, as a run of kind "selection" with one cluster (id 1) holding the
selected customers: a static list that the existing cluster membership
condition compiles, validates and runs. A run's map (a 2-D embedding of a
sample) goes to ``gold_cluster_embeddings``. A lookalike model's row keeps
everything the Lookalikes page shows (curve, factors, quality), and every
scored customer's reach goes to ``gold_lookalike_scores``, so "lookalike of
S at reach r" is ``reach_pct <= r`` in SQL and opening a saved model reads
one row.

These tables have no pipeline model, so a rebuild never truncates them.
How runs, maps and models are fitted is in ``fitting.py``.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services import naming, sqlfiles
from services.clock import new_id, now
from services.discovery.lookalike import LookalikeModel, curve_point
from services.discovery.profiles import ClusterProfile
from services.errors import SpecError
from services.segments.spec import Group, Membership, SegmentDefinition
from services.segments.tables import (
    CLUSTER_RUNS_TABLE,
    CLUSTER_TABLE,
    FEATURES_TABLE,
    LOOKALIKE_MODELS_TABLE,
    LOOKALIKE_TABLE,
)
from services.sqlterms import column, equals
from services.warehouse import Rows, Warehouse, count_rows

RUNS_TABLE = CLUSTER_RUNS_TABLE
ASSIGNMENTS_TABLE = CLUSTER_TABLE
EMBEDDINGS_TABLE = naming.fq("gold", "gold_cluster_embeddings")
MODELS_TABLE = LOOKALIKE_MODELS_TABLE
SCORES_TABLE = LOOKALIKE_TABLE
SELECTION = "selection"
CLUSTERING = "clustering"
MAX_SELECTION = 200_000
ALGORITHM_SHORT = {"kmeans": "k-means", "gmm": "Gaussian mixture", "hdbscan": "HDBSCAN", SELECTION: "selection"}
#: the columns a map carries besides its coordinates, for hover text
HOVER = ("rfm_segment", "lifecycle_stage", "monetary", "frequency", "recency_days", "online_share")

_ready: weakref.WeakSet[object] = weakref.WeakSet()
_ready_lock = threading.Lock()


def ensure_tables(warehouse: Warehouse) -> None:
    """Create the gold tables this module writes when a warehouse predates them (once per warehouse).

    Only the writers call it: the app brings a warehouse up to date before a page reads it, and
    a statement per table on every first read would cost a remote warehouse a round trip each.
    """
    if warehouse.dialect == "databricks":
        # There the build job creates what a new version adds (docs/deploy-databricks.md): the app's
        # service principal needs MODIFY on these tables, never CREATE TABLE on the gold schema.
        return
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


def save_run(warehouse: Warehouse, run: ClusterRun, customer_ids: np.ndarray, labels: np.ndarray) -> None:
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


def save_selection(warehouse: Warehouse, customer_ids, *, name: str, author: str, as_of_date: date | None,
                   source_run_id: str | None = None) -> ClusterRun:
    """A static list of customers (a map selection) as a one-cluster run; unknown ids are dropped."""
    ids = list(dict.fromkeys(str(c) for c in customer_ids))
    if not ids:
        raise SpecError("the selection is empty: draw a box or lasso around some points first")
    if len(ids) > MAX_SELECTION:
        raise SpecError(f"{len(ids):,} customers selected; a static selection holds at most {MAX_SELECTION:,}")
    run = ClusterRun(
        run_id=new_id("sel"), kind=SELECTION, name=name, author=author, created_ts=now(),
        as_of_date=as_of_date, algorithm=SELECTION, scaling=None, k=1, features=(),
        params={"source_run_id": source_run_id}, cluster_ids=(1,), profile=None, customers=len(ids),
    )
    save_run(warehouse, run, np.array(ids, dtype=object), np.ones(len(ids), dtype="int32"))
    # Only customers of the gold table can be members; anything else in the list is dropped.
    unknown = column("customer_id").isin(query=exp.select(column("customer_id")).from_(FEATURES_TABLE)).not_()
    warehouse.execute(exp.delete(ASSIGNMENTS_TABLE, where=exp.and_(equals("run_id", run.run_id), unknown)))
    kept = count_rows(warehouse, ASSIGNMENTS_TABLE, where=equals("run_id", run.run_id))
    warehouse.execute(exp.update(RUNS_TABLE, {"customers": exp.convert(kept)}, where=equals("run_id", run.run_id)))
    return load_run(warehouse, run.run_id)


def list_runs(warehouse: Warehouse, *, kind: str | None = CLUSTERING) -> pd.DataFrame:
    """Saved runs, newest first (without their profiles)."""
    columns = ["run_id", "kind", "name", "author", "created_ts", "as_of_date", "algorithm", "scaling", "k",
               "customers", "map_points"]
    query = exp.select(*[column(c) for c in columns]).from_(RUNS_TABLE)
    if kind is not None:
        query = query.where(equals("kind", kind))
    return warehouse.df(query.order_by(exp.Ordered(this=column("created_ts"), desc=True)))


def load_run(warehouse: Warehouse, run_id: str) -> ClusterRun:
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


def assignments(warehouse: Warehouse, run_id: str) -> pd.Series:
    """The saved cluster of every customer of a run, indexed by customer_id."""
    frame = warehouse.df(exp.select(column("customer_id"), column("cluster_id")).from_(ASSIGNMENTS_TABLE)
                         .where(equals("run_id", run_id)).order_by(column("customer_id")))
    return frame.set_index("customer_id")["cluster_id"]


# -- maps ---------------------------------------------------------------------------
def save_map(warehouse: Warehouse, run_id: str, customer_ids, cluster_ids, embedding: np.ndarray, *, seconds: float) -> None:
    ensure_tables(warehouse)
    # Replaced in one transaction: a map is whole or the previous one, never half of either.
    warehouse.transaction([
        (exp.delete(EMBEDDINGS_TABLE, where=equals("run_id", run_id)), None),
        Rows(EMBEDDINGS_TABLE, pd.DataFrame({
            "run_id": run_id, "customer_id": np.asarray(customer_ids, dtype=object),
            "cluster_id": np.asarray(cluster_ids, dtype="int32"), "x": embedding[:, 0], "y": embedding[:, 1],
        })),
        (exp.update(RUNS_TABLE, {"map_points": exp.convert(int(len(embedding))),
                                 "map_seconds": exp.convert(float(seconds))}, where=equals("run_id", run_id)), None),
    ])


def load_map(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """The saved map of a run with hover features: customer_id, x, y, cluster_id, and HOVER columns."""
    point = partial(column, table="e")
    feature = partial(column, table="f")
    query = (exp.select(point("customer_id"), point("x"), point("y"), point("cluster_id"), *[feature(c) for c in HOVER])
             .from_(exp.to_table(EMBEDDINGS_TABLE).as_("e"))
             .join(exp.to_table(FEATURES_TABLE).as_("f"),
                   on=exp.EQ(this=feature("customer_id"), expression=point("customer_id")), join_type="left")
             .where(exp.EQ(this=point("run_id"), expression=exp.convert(run_id)))
             .order_by(point("customer_id")))
    frame = warehouse.df(query)
    for name in ("monetary", "online_share"):
        frame[name] = frame[name].astype("float64")
    return frame


# -- lookalike models -----------------------------------------------------------------
@dataclass(frozen=True)
class SavedLookalike:
    model_id: str
    name: str
    author: str
    created_ts: datetime
    as_of_date: date | None
    seed_segment_id: str | None
    seed: SegmentDefinition
    seed_size: int
    eligible: int
    algorithm: str
    features: tuple[str, ...]
    auc: float
    curve: pd.DataFrame      # reach_pct, members, min_score, heldout_recall, eligible
    factors: pd.DataFrame    # feature, weight, seed_mean, base_mean, direction
    fit_seconds: float | None = None

    def at(self, reach_pct: float) -> dict:
        """Members, similarity and held-out recall at a slider position: a lookup, never a refit."""
        return curve_point(self.curve, reach_pct)

    def membership(self, reach_pct: float) -> Membership:
        return Membership(of="lookalike", model_id=self.model_id, reach_pct=float(reach_pct))

    def segment(self, reach_pct: float, *, include_seed: bool = False, name: str | None = None) -> SegmentDefinition:
        """An ordinary definition: the lookalikes at a reach (and, if asked, the seed segment too)."""
        look = self.membership(reach_pct)
        if include_seed and self.seed_segment_id:
            rule = Group("any", (Membership(of="segment", segment_id=self.seed_segment_id), look))
        else:
            rule = Group("all", (look,))
        return SegmentDefinition(
            name=name or f"Lookalikes of {self.seed.name} at {reach_pct:g}%",
            description=(f"Customers outside the seed most like {self.seed.name}: top {reach_pct:g}% of "
                         f"{self.eligible:,} eligible customers ({self.algorithm}, model {self.model_id})"),
            rule=rule)


def save_model(warehouse: Warehouse, saved: SavedLookalike, model: LookalikeModel) -> None:
    ensure_tables(warehouse)
    warehouse.append(SCORES_TABLE, pa.table({
        "model_id": constant(saved.model_id, len(model.scores_)),
        "customer_id": pa.array(np.asarray(model.eligible_index_, dtype=object), pa.string()),
        "score": pa.array(model.scores_.astype("float64")),
        "reach_pct": pa.array(model.reach_pct_.astype("float64")),
    }))
    summary = {"curve": saved.curve.to_dict(orient="list"), "factors": saved.factors.to_dict(orient="list")}
    warehouse.append(MODELS_TABLE, pd.DataFrame([{
        "model_id": saved.model_id, "name": saved.name, "author": saved.author, "created_ts": saved.created_ts,
        "as_of_date": saved.as_of_date, "seed_segment_id": saved.seed_segment_id,
        "seed_json": saved.seed.to_json(indent=None), "seed_size": saved.seed_size, "eligible": saved.eligible,
        "algorithm": saved.algorithm, "features_json": json.dumps(list(saved.features)),
        "summary_json": json.dumps(summary), "auc": saved.auc, "fit_seconds": saved.fit_seconds,
    }]))


def list_models(warehouse: Warehouse) -> pd.DataFrame:
    columns = ["model_id", "name", "author", "created_ts", "seed_segment_id", "seed_size", "eligible",
               "algorithm", "auc"]
    return warehouse.df(exp.select(*[column(c) for c in columns]).from_(MODELS_TABLE)
                        .order_by(exp.Ordered(this=column("created_ts"), desc=True)))


def load_model(warehouse: Warehouse, model_id: str) -> SavedLookalike:
    rows = warehouse.arrow(exp.select("*").from_(MODELS_TABLE).where(equals("model_id", model_id))).to_pylist()
    if not rows:
        raise SpecError(f"lookalike model {model_id!r} does not exist")
    r = rows[0]
    summary = json.loads(r["summary_json"])
    return SavedLookalike(
        model_id=r["model_id"], name=r["name"], author=r["author"], created_ts=r["created_ts"],
        as_of_date=r["as_of_date"], seed_segment_id=r["seed_segment_id"],
        seed=SegmentDefinition.from_json(r["seed_json"]), seed_size=int(r["seed_size"]),
        eligible=int(r["eligible"]), algorithm=r["algorithm"], features=tuple(json.loads(r["features_json"])),
        auc=float(r["auc"]) if r["auc"] is not None else float("nan"),
        curve=pd.DataFrame(summary["curve"]), factors=pd.DataFrame(summary["factors"]),
        fit_seconds=r["fit_seconds"],
    )
