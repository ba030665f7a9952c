"""The cluster map's model: a 2-D UMAP embedding of a stratified sample, computed once per run.

UMAP is compiled by numba on first use. Many of umap-learn's and
pynndescent's kernels are marked ``cache=True``, so numba writes their machine
code next to the packages and later processes load it. Measured here: that
cache takes ``import umap`` from ~32 s to ~4 s of CPU, but the first map of
every new process still costs ~19 s of CPU on 500 points and ~64 s on 4,500
(functions built at run time, and those not marked for caching, compile per
process). So the app warms UMAP up in a background thread when it starts
(``start_warm_up``) on 4,500 points: below 4,096 points UMAP skips the
nearest-neighbour descent, so a smaller warm-up would leave that code cold.

The map is computed by ``fitting.compute_map`` and saved by ``store``; pages only ever load it.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sqlglot import exp

from services.discovery.store import RUNS_TABLE
from services.errors import SpecError
from services.sqlterms import column
from services.warehouse import Warehouse

DEFAULT_POINTS = 50_000
MIN_PER_CLUSTER = 50
#: what a map costs per point and in fixed overhead before any map has been timed here
DEFAULT_SECONDS_PER_POINT = 0.0005
OVERHEAD_SECONDS = 3.0
#: what the first map of a process costs when UMAP has not been warmed up
COLD_START_SECONDS = 60.0
WARM_UP_POINTS = 4_500
COLOUR_BY = {"cluster": "Cluster", "rfm_segment": "RFM segment", "lifecycle_stage": "Lifecycle stage"}


class MapEmbedding(BaseEstimator):
    """UMAP to 2-D. Fewer epochs on big samples: 50,000 points settle into their clusters well before
    UMAP's default 200, and the layout is half the time of a new map."""

    def __init__(self, n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: int | None = None,
                 init: str = "pca", low_memory: bool = True, random_state: int = 0):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_epochs = n_epochs
        self.init = init
        self.low_memory = low_memory
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> MapEmbedding:
        import warnings

        import umap

        X = np.asarray(X, dtype="float32")
        if len(X) <= self.n_neighbors:
            raise SpecError(f"{len(X)} points are too few for a map; it needs more than {self.n_neighbors}")
        epochs = self.n_epochs or (100 if len(X) > 20_000 else 200)
        with warnings.catch_warnings():
            # A fixed random_state makes UMAP single-threaded, and it says so each time.
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            reducer = umap.UMAP(n_neighbors=self.n_neighbors, min_dist=self.min_dist, n_epochs=epochs,
                                init=self.init, low_memory=self.low_memory, random_state=self.random_state)
            self.embedding_ = reducer.fit_transform(X).astype("float64")
        self.n_epochs_ = epochs
        return self


def stratified_sample(labels: pd.Series, size: int, *, random_state: int = 0) -> pd.Index:
    """Up to ``size`` customer ids, each cluster in proportion, small clusters kept visible."""
    if len(labels) <= size:
        return labels.index
    rng = np.random.default_rng(random_state)
    counts = labels.value_counts().sort_index()
    quota = counts / counts.sum() * size
    want = np.floor(quota).astype(int)
    # largest remainders first, so the shares add up to exactly ``size``
    want[(quota - want).sort_values(ascending=False).index[: size - int(want.sum())]] += 1
    want = np.maximum(want, np.minimum(counts, MIN_PER_CLUSTER))
    want[want.idxmax()] -= int(want.sum()) - size  # what the small clusters' floor added comes off the largest
    picked = []
    values = labels.to_numpy()
    for cluster, n in want.items():
        rows = np.flatnonzero(values == cluster)
        picked.append(rng.choice(rows, size=min(int(n), len(rows)), replace=False))
    return labels.index[np.sort(np.concatenate(picked))]


def expected_map_seconds(warehouse: Warehouse, points: int, *, warm: bool) -> float:
    """How long a new map of ``points`` customers should take, from the maps timed on this warehouse."""
    rows = warehouse.df(exp.select(column("map_points"), column("map_seconds")).from_(RUNS_TABLE)
                        .where(column("map_points").is_(exp.null()).not_())
                        .order_by(exp.Ordered(this=column("created_ts"), desc=True)).limit(10))
    rows = rows[rows["map_points"] >= 1_000]
    per_point = float((rows["map_seconds"] / rows["map_points"]).median()) if len(rows) else DEFAULT_SECONDS_PER_POINT
    return OVERHEAD_SECONDS + per_point * points + (0.0 if warm else COLD_START_SECONDS)


# -- warm-up ------------------------------------------------------------------------
_warm = threading.Event()
_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def warm_up(*, points: int = WARM_UP_POINTS) -> float:
    """Compile (or load from numba's cache) every kernel a map uses; returns the seconds it took."""
    started = time.perf_counter()
    data = np.random.default_rng(0).normal(size=(points, 4))
    MapEmbedding(n_epochs=5, init="random").fit(data)
    _warm.set()
    return time.perf_counter() - started


def start_warm_up() -> threading.Thread:
    """Warm UMAP up once per process, in a daemon thread; later calls return the same thread."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            _warm_thread = threading.Thread(target=warm_up, name="umap-warm-up", daemon=True)
            _warm_thread.start()
        return _warm_thread


def is_warm() -> bool:
    return _warm.is_set()
