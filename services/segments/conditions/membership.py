"""Membership conditions: in another saved segment (expanded inline), in clusters of a
saved clustering run, or in a lookalike expansion at a reach."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from services.errors import CompileError, SegmentStudioError, SpecError
from services.segments.catalog import FeatureCatalog
from services.segments.conditions.base import ConditionKind, Draw, read_fields
from services.segments.conditions.context import CompileContext, feature, negate
from services.segments.reading import bounded, plain_text
from services.segments.tables import CLUSTER_TABLE, LOOKALIKE_TABLE
from services.segments.wording import Names, listing
from services.sqlterms import literal, table

MEMBERSHIP_KINDS = ("segment", "cluster", "lookalike")


@dataclass(frozen=True)
class Membership:
    """In another segment, in clusters of a clustering run, or in a lookalike at a reach."""

    of: str
    segment_id: str | None = None
    version: int | None = None
    run_id: str | None = None
    cluster_ids: tuple[int, ...] = ()
    model_id: str | None = None
    reach_pct: float | None = None
    negate: bool = False
    kind: str = field(default="membership", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.of, str) or self.of not in MEMBERSHIP_KINDS:
            raise SpecError(f"membership of {self.of!r} is not one of {MEMBERSHIP_KINDS}")
        object.__setattr__(self, "cluster_ids", tuple(self.cluster_ids))
        if not isinstance(self.negate, bool):
            raise SpecError(f"negate must be true or false, got {self.negate!r}")
        for name in ("segment_id", "run_id", "model_id"):
            if isinstance(getattr(self, name), str):
                plain_text(getattr(self, name), name)
        bounded(self.version, "version")
        bounded(self.reach_pct, "reach_pct")
        for cluster in self.cluster_ids:
            bounded(cluster, "cluster_ids")
        if self.of == "segment" and not self.segment_id:
            raise SpecError("membership of a segment needs a segment_id")
        if self.of == "segment" and self.version is not None and (not isinstance(self.version, int) or self.version < 1):
            raise SpecError(f"segment version must be a whole number >= 1, got {self.version!r}")
        if self.of == "cluster" and (not self.run_id or not self.cluster_ids):
            raise SpecError("membership of a cluster needs a run_id and at least one cluster id")
        if self.of == "lookalike":
            if not self.model_id or self.reach_pct is None:
                raise SpecError("membership of a lookalike needs a model_id and a reach_pct")
            if not 0 < float(self.reach_pct) <= 100:
                raise SpecError(f"lookalike reach must be between 0 and 100 percent, got {self.reach_pct}")

    def describe(self) -> str:
        if self.of == "segment":
            text = f"in segment {self.segment_id}" + (f" v{self.version}" if self.version else " (latest)")
        elif self.of == "cluster":
            text = f"in cluster {', '.join(map(str, self.cluster_ids))} of run {self.run_id}"
        else:
            text = f"in lookalike {self.model_id} at {self.reach_pct:g}% reach"
        return f"not {text}" if self.negate else text


    def phrase(self, names: Names) -> str:
        """How the Builder reads it: saved segments, runs and models by name."""
        if self.of == "segment":
            version = f"version {self.version}" if self.version else "latest version"
            text = f"in segment {names.segment(self.segment_id)} ({version})"
        elif self.of == "cluster":
            clusters = listing([str(c) for c in self.cluster_ids])
            text = f"in cluster{'s' if len(self.cluster_ids) > 1 else ''} {clusters} of {names.target(self.run_id)}"
        else:
            text = f"in lookalike {names.target(self.model_id)} at {self.reach_pct:g}% reach"
        return ("Not " + text) if self.negate else text[0].upper() + text[1:]


def read(data: dict, path: tuple[int, ...]) -> Membership:
    return read_fields(Membership, data, path)


# -- the catalog check ------------------------------------------------------------
def check(m: Membership, catalog: FeatureCatalog) -> None:
    """Runs and models must be saved; a saved segment is checked when it is expanded."""
    if m.of == "cluster":
        clusters = catalog.cluster_runs.get(m.run_id)
        if clusters is None:
            raise SpecError(f"clustering run {m.run_id!r} does not exist")
        unknown = [c for c in m.cluster_ids if c not in clusters]
        if unknown:
            raise SpecError(f"run {m.run_id} has no cluster {unknown[0]}; clusters: {list(clusters)}")
    elif m.of == "lookalike" and m.model_id not in catalog.lookalike_models:
        raise SpecError(f"lookalike model {m.model_id!r} does not exist")


# -- the compiler pass --------------------------------------------------------------
def compile_membership(condition: Membership, ctx: CompileContext) -> exp.Expression:
    if condition.of == "segment":
        predicate = _segment(condition, ctx)
    elif condition.of == "cluster":
        predicate = _customers_in(
            CLUSTER_TABLE,
            exp.EQ(this=exp.column("run_id", quoted=True), expression=literal(condition.run_id)),
            exp.column("cluster_id", quoted=True).isin(*[literal(int(c)) for c in condition.cluster_ids], copy=False),
        )
    else:
        predicate = _customers_in(
            LOOKALIKE_TABLE,
            exp.EQ(this=exp.column("model_id", quoted=True), expression=literal(condition.model_id)),
            exp.LTE(this=exp.column("reach_pct", quoted=True), expression=literal(float(condition.reach_pct))),
        )
    if condition.negate:
        return negate(predicate)
    return predicate


def _customers_in(qualified_table: str, *conditions: exp.Expression) -> exp.Expression:
    """f.customer_id IN (SELECT customer_id FROM the table WHERE all the conditions)."""
    select = (exp.select(exp.column("customer_id", quoted=True))
              .from_(table(qualified_table), copy=False)
              .where(exp.and_(*conditions, copy=False), copy=False))
    return feature("customer_id").isin(query=select, copy=False)


def _segment(condition: Membership, ctx: CompileContext) -> exp.Expression:
    key = f"{condition.segment_id}@{condition.version or 'latest'}"
    if condition.segment_id in {k.split("@")[0] for k in ctx.stack}:
        chain = " -> ".join([*(k.split("@")[0] for k in ctx.stack), condition.segment_id])
        raise CompileError(f"segments refer to each other in a cycle: {chain}")
    if ctx.resolver is None or ctx.compile_rule is None:
        raise CompileError(f"segment {condition.segment_id} cannot be looked up here (no segment library)")
    other = ctx.resolver(condition.segment_id, condition.version)
    try:
        # Both range over the same gold row, so the other segment's rule applies inline
        # (checked against the catalog as it is compiled, like any rule).
        inner = ctx.compile_rule(other.rule, ctx.entering(key))
    except SegmentStudioError as exc:
        # Placed in the other segment's rule; in this one it is this condition that fails, for that reason.
        raise type(exc)(str(exc)) from exc
    return exp.Paren(this=inner)


# -- random memberships, for the cross-engine tests ------------------------------------
def generate(draw: Draw, *, of: str | None = None) -> Membership:
    """A membership of ``of`` (segment, cluster or lookalike), drawn when not given, of saved things."""
    rng, catalog = draw.rng, draw.catalog
    of = of or rng.choice(MEMBERSHIP_KINDS)
    negated = rng.random() < 0.3
    if of == "segment":
        return Membership("segment", segment_id=rng.choice(draw.segment_ids), negate=negated)
    if of == "cluster":
        run = rng.choice(sorted(catalog.cluster_runs))
        clusters = catalog.cluster_runs[run]
        picked = tuple(sorted(rng.sample(clusters, rng.randint(1, len(clusters) - 1))))
        return Membership("cluster", run_id=run, cluster_ids=picked, negate=negated)
    return Membership("lookalike", model_id=rng.choice(catalog.lookalike_models),
                      reach_pct=rng.choice((0.5, 5, 12.5, 33.3, 50, 99.9, 100)), negate=negated)


def singles(draw: Draw) -> Iterator[Membership]:
    for of in MEMBERSHIP_KINDS:
        yield generate(draw, of=of)


def coverage(m: Membership, catalog: FeatureCatalog) -> Iterator[str]:
    yield f"membership:{m.of}"
    if m.negate:
        yield "membership:negated"


KIND = ConditionKind(name="membership", spec=Membership, read=read, check=check, compile=compile_membership,
                     generate=generate, singles=singles, coverage=coverage, weight=0.15)
