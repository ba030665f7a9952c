"""Train a lookalike from a seed segment and save it to gold, so "lookalike of
S at reach r" compiles to SQL (``reach_pct <= r`` on ``gold_lookalike_scores``).

The model row keeps everything the Lookalikes page shows (curve, factors,
quality), so opening a saved model and moving its slider read one row.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services import naming
from services.cluster_runs import constant, ensure_tables
from services.clustering import clusterable, fetch_features
from services.errors import SpecError
from services.lookalike import DEFAULT_FEATURES, LookalikeModel, curve_point
from services.pipeline.audit import now
from services.segments.catalog import FeatureCatalog
from services.segments.compiler import compile_definition
from services.segments.compiler.context import LOOKALIKE_TABLE
from services.segments.spec import Group, Membership, SegmentDefinition
from services.sqlterms import column, equals

MODELS_TABLE = naming.fq("gold", "gold_lookalike_models")
SCORES_TABLE = LOOKALIKE_TABLE

Progress = Callable[[str, float], None]


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


def seed_members(warehouse, catalog: FeatureCatalog, seed: SegmentDefinition, *, resolver=None) -> set[str]:
    compiled = compile_definition(seed, catalog, resolver=resolver)
    return set(warehouse.arrow(compiled.members_query()).column("customer_id").to_pylist())


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


def train_lookalike(warehouse, catalog: FeatureCatalog, seed: SegmentDefinition, *, author: str,
                    seed_segment_id: str | None = None, algorithm: str = "logistic", features=None,
                    resolver=None, random_state: int = 0,
                    progress: Progress | None = None) -> tuple[SavedLookalike, LookalikeModel, LookalikeTimings]:
    """Fit on the seed, score every customer outside it, save model and scores."""
    say = progress or (lambda step, fraction: None)
    say("finding the seed's members", 0.05)
    t0 = time.perf_counter()
    members = seed_members(warehouse, catalog, seed, resolver=resolver)
    frame = fetch_features(warehouse, catalog, features or lookalike_features(catalog))
    t1 = time.perf_counter()
    say(f"learning what sets {len(members):,} seed customers apart", 0.3)
    model = LookalikeModel(algorithm, random_state=random_state).fit(frame, frame.index.isin(list(members)))
    t2 = time.perf_counter()
    say("saving scores", 0.8)
    saved = SavedLookalike(
        model_id=f"lal-{uuid.uuid4().hex[:8]}", name=f"Lookalikes of {seed.name}", author=author, created_ts=now(),
        as_of_date=catalog.as_of_date, seed_segment_id=seed_segment_id, seed=seed, seed_size=model.seed_size_,
        eligible=len(model.scores_), algorithm=algorithm, features=model.features_, auc=model.auc_,
        curve=model.curve_, factors=model.factors_, fit_seconds=t2 - t1,
    )
    save_model(warehouse, saved, model)
    t3 = time.perf_counter()
    say("done", 1.0)
    return saved, model, LookalikeTimings(t1 - t0, t2 - t1, t3 - t2)


def save_model(warehouse, saved: SavedLookalike, model: LookalikeModel) -> None:
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


def list_models(warehouse) -> pd.DataFrame:
    ensure_tables(warehouse)
    columns = ["model_id", "name", "author", "created_ts", "seed_segment_id", "seed_size", "eligible",
               "algorithm", "auc"]
    return warehouse.df(exp.select(*[column(c) for c in columns]).from_(MODELS_TABLE)
                        .order_by(exp.Ordered(this=column("created_ts"), desc=True)))


def model_ids(warehouse) -> tuple[str, ...]:
    ensure_tables(warehouse)
    return tuple(warehouse.arrow(exp.select(column("model_id")).from_(MODELS_TABLE)).column(0).to_pylist())


def load_model(warehouse, model_id: str) -> SavedLookalike:
    ensure_tables(warehouse)
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
