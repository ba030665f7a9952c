"""Behavioral conditions: purchases over the transactions, with filters and a window
("bought in beauty at least 3 times in the last 90 days").

They compile to a semi-join over gold_customer_activity (the facts' columns these
conditions read, stored so their filters skip most of the table). The aggregate
(purchases counted, or purchases minus refunds summed) is taken over the
transactions that match the filters and window. When the condition holds for a
customer with no matching transaction at all ("at most 2 times", "spent <= $50"),
it compiles to ``NOT IN (customers for whom it fails)`` so those customers are
included; otherwise to ``IN (customers for whom it holds)``. ``negate`` wraps the
result in NOT.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlglot import exp

from services.errors import SpecError
from services.segments.catalog import BEHAVIOR_FILTERS, FeatureCatalog
from services.segments.conditions.base import ConditionKind, Draw, as_date, read_fields
from services.segments.conditions.context import CompileContext, feature
from services.segments.reading import bounded, days
from services.segments.tables import ACTIVITY_TABLE
from services.segments.wording import Names, amount, listing
from services.sqlterms import count_star, date_literal, literal, table

BEHAVIOR_MEASURES = ("orders", "spend")
COMPARATORS = {"at_least": ">=", "at_most": "<=", "exactly": "="}


@dataclass(frozen=True)
class Behavior:
    """Purchases over the transactions, with filters and a window.

    ``measure`` "orders" counts purchase transactions; "spend" sums purchases
    minus refunds in USD. Either ``last_days`` (relative to the data's as-of
    date) or ``start``/``end`` (inclusive dates) bounds the window; neither
    means all history. ``negate`` turns "bought ..." into "did not buy ...".
    """

    measure: str = "orders"
    comparator: str = "at_least"
    threshold: float = 1
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    last_days: int | None = None
    start: date | None = None
    end: date | None = None
    negate: bool = False
    kind: str = field(default="behavior", init=False)

    def __post_init__(self) -> None:
        if self.measure not in BEHAVIOR_MEASURES:
            raise SpecError(f"behavioral measure {self.measure!r} is not one of {BEHAVIOR_MEASURES}")
        if self.comparator not in COMPARATORS:
            raise SpecError(f"comparator {self.comparator!r} is not one of {', '.join(COMPARATORS)}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise SpecError(f"behavioral threshold {self.threshold!r} is not a number")
        bounded(self.threshold, "threshold")
        if not isinstance(self.negate, bool):
            raise SpecError(f"negate must be true or false, got {self.negate!r}")
        if self.measure == "orders" and (self.threshold < 0 or int(self.threshold) != self.threshold):
            raise SpecError(f"a number of orders must be a whole number >= 0, got {self.threshold}")
        for name in BEHAVIOR_FILTERS:
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "start", as_date(self.start, "behavior start"))
        object.__setattr__(self, "end", as_date(self.end, "behavior end"))
        if self.last_days is not None:
            if isinstance(self.last_days, bool) or not isinstance(self.last_days, int) or self.last_days < 1:
                raise SpecError(f"last_days must be a whole number of days >= 1, got {self.last_days!r}")
            days(self.last_days, "last_days")
            if self.start or self.end:
                raise SpecError("give either last_days or start/end dates for a behavioral window, not both")
        if self.start and self.end and self.start > self.end:
            raise SpecError(f"behavioral window starts {self.start} after it ends {self.end}")

    def describe(self) -> str:
        what = "bought" if self.measure == "orders" else "spent"
        words = self.comparator.replace("_", " ")
        times = int(self.threshold)
        amount = (f"{words} {times} time{'s' if times != 1 else ''}" if self.measure == "orders"
                  else f"{words} ${self.threshold:,.2f}")
        filters = [f"{n} in ({', '.join(getattr(self, n))})" for n in BEHAVIOR_FILTERS if getattr(self, n)]
        window = (f"in the last {self.last_days} days" if self.last_days else
                  f"between {self.start or 'the beginning'} and {self.end or 'the as-of date'}"
                  if (self.start or self.end) else "ever")
        text = " ".join([what, *( ["with " + " and ".join(filters)] if filters else []), amount, window])
        return f"not ({text})" if self.negate else text


    def phrase(self, names: Names) -> str:
        """How the Builder reads it: "Bought beauty on web or app at least 3 times in the last 90 days"."""
        verb = ("did not buy" if self.negate else "bought") if self.measure == "orders" else \
            ("did not spend" if self.negate else "spent")
        filters = [f"{word} {listing(getattr(self, name))}" for name, word in
                   (("categories", "in"), ("channels", "on"), ("merchants", "at"), ("products", "of"))
                   if getattr(self, name)]
        words = self.comparator.replace("_", " ")
        if self.measure == "orders":
            times = int(self.threshold)
            how_much = f"{words} {times:,} time{'s' if times != 1 else ''}"
        else:
            how_much = f"{words} {amount(self.threshold, 'USD')}"
        if self.last_days:
            window = f"in the last {amount(self.last_days, 'days')}"
        elif self.start and self.end:
            window = f"between {self.start} and {self.end}"
        else:
            window = f"from {self.start}" if self.start else f"until {self.end}" if self.end else "ever"
        return " ".join([verb.capitalize(), *filters, how_much, window])


def read(data: dict, path: tuple[int, ...]) -> Behavior:
    return read_fields(Behavior, data, path)


# -- the catalog check ------------------------------------------------------------
def check(b: Behavior, catalog: FeatureCatalog) -> None:
    for name in BEHAVIOR_FILTERS:
        known = catalog.behavior_values.get(name)
        for v in getattr(b, name):
            if not isinstance(v, str):
                raise SpecError(f"{name} are text, got {v!r}")
            if known is not None and v not in known:
                shown = ", ".join(known[:12])
                raise SpecError(f"{v!r} is not a known {name[:-1] if name != 'categories' else 'category'}; "
                                f"known: {shown}")
    if b.threshold is not None and not math.isfinite(float(b.threshold)):
        raise SpecError("threshold must be a finite number")


# -- the compiler pass --------------------------------------------------------------
FACT_ALIAS = "t"
COMPARE = {"at_least": exp.GTE, "at_most": exp.LTE, "exactly": exp.EQ}


def _fact(name: str) -> exp.Column:
    return exp.column(name, table=FACT_ALIAS, quoted=True)


def _holds_for_zero(b: Behavior) -> bool:
    return {"at_least": 0 >= b.threshold, "at_most": 0 <= b.threshold, "exactly": b.threshold == 0}[b.comparator]


def _threshold(b: Behavior) -> exp.Expression:
    return literal(int(b.threshold) if b.measure == "orders" else b.threshold)


def compile_behavior(condition: Behavior, ctx: CompileContext) -> exp.Expression:
    b = condition
    where: list[exp.Expression] = []
    if b.measure == "orders":
        where.append(exp.EQ(this=_fact("txn_type"), expression=exp.Literal.string("purchase")))
    if b.last_days is not None:
        where.append(exp.GT(this=_fact("posted_date"), expression=date_literal(ctx.days_before_as_of(b.last_days))))
    if b.start is not None:
        where.append(exp.GTE(this=_fact("posted_date"), expression=date_literal(b.start)))
    where.append(exp.LTE(this=_fact("posted_date"), expression=date_literal(min(b.end or ctx.as_of, ctx.as_of))))
    for name, column in BEHAVIOR_FILTERS.items():
        values = getattr(b, name)
        if values:
            where.append(_fact(column).isin(*[literal(v) for v in values], copy=False))

    if b.measure == "orders":
        aggregate = count_star()
    else:
        signed = exp.Case().when(
            exp.EQ(this=_fact("txn_type"), expression=exp.Literal.string("refund")), exp.Neg(this=_fact("amount_usd")),
            copy=False,
        ).else_(_fact("amount_usd"), copy=False)
        aggregate = exp.Sum(this=signed)
    holds = COMPARE[b.comparator](this=aggregate, expression=_threshold(b))

    select = (exp.select(_fact("customer_id"))
              .from_(table(ACTIVITY_TABLE).as_(FACT_ALIAS, copy=False), copy=False)
              .where(exp.and_(*where, copy=False), copy=False))
    zero_included = _holds_for_zero(b)
    if b.measure == "orders" and b.comparator == "at_least" and int(b.threshold) == 1:
        # "bought at least once": a plain semi-join, no aggregation needed.
        predicate = feature("customer_id").isin(query=select, copy=False)
    else:
        select = select.group_by(_fact("customer_id"), copy=False).having(
            exp.not_(holds, copy=False) if zero_included else holds, copy=False)
        membership = feature("customer_id").isin(query=select, copy=False)
        predicate = exp.not_(membership, copy=False) if zero_included else membership
    return exp.not_(predicate, copy=False) if b.negate else predicate


# -- random behaviors, for the cross-engine tests ---------------------------------------
SPEND_THRESHOLDS = (-25.0, 0, 0.01, 19.99, 50, 100, 250.5, 500, 1000, 2500)
WINDOWS = ("ever", "last_days", "range", "start", "end", "end_after_as_of")


def generate(draw: Draw, *, measure: str | None = None, comparator: str | None = None,
             window: str | None = None) -> Behavior:
    """A behavior with ``measure``, ``comparator`` and ``window`` (one of WINDOWS), each drawn when not given."""
    rng, catalog = draw.rng, draw.catalog
    measure = measure or rng.choice(BEHAVIOR_MEASURES)
    comparator = comparator or rng.choice(tuple(COMPARATORS))
    window = window or rng.choice(WINDOWS)
    threshold = rng.choice((0, 1, 1, 2, 3, 5)) if measure == "orders" else rng.choice(SPEND_THRESHOLDS)
    filters = {}
    for name in BEHAVIOR_FILTERS:
        known = list(catalog.behavior_values.get(name, ()))
        if known and rng.random() < (0.4 if name in ("categories", "channels") else 0.1):
            filters[name] = tuple(rng.sample(known, min(len(known), rng.randint(1, 3))))
    as_of = catalog.as_of_date
    start = as_of - timedelta(days=rng.randint(30, 700))
    end = start + timedelta(days=rng.randint(0, 400))
    window_args = {
        "ever": {},
        "last_days": {"last_days": rng.choice((1, 7, 30, 90, 180, 365))},
        "range": {"start": start, "end": min(end, as_of)},
        "start": {"start": start},
        "end": {"end": min(end, as_of)},
        "end_after_as_of": {"start": start, "end": as_of + timedelta(days=30)},
    }[window]
    return Behavior(measure, comparator, threshold, **filters, **window_args, negate=rng.random() < 0.3)


def singles(draw: Draw) -> Iterator[Behavior]:
    for measure in BEHAVIOR_MEASURES:
        for comparator in COMPARATORS:
            for window in WINDOWS:
                yield generate(draw, measure=measure, comparator=comparator, window=window)


def coverage(b: Behavior, catalog: FeatureCatalog) -> Iterator[str]:
    window = ("last_days" if b.last_days else "range" if b.start and b.end else "start" if b.start
              else "end" if b.end else "ever")
    yield f"behavior:{b.measure}:{b.comparator}"
    yield f"behavior:window:{window}"
    if b.negate:
        yield "behavior:negated"
    if any(getattr(b, n) for n in BEHAVIOR_FILTERS):
        yield "behavior:filtered"


KIND = ConditionKind(name="behavior", spec=Behavior, read=read, check=check, compile=compile_behavior,
                     generate=generate, singles=singles, coverage=coverage, weight=0.35)
