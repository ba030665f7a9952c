"""The interface every destination implements, and the export request.

A destination turns the audience source (one row per member: customer id,
split group, chosen gold attributes, contact columns from the current
customer row, aliased ``src``) into its output columns with sqlglot
expressions, says which members it can use, and delivers the rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from services.errors import SpecError
from services.exports import normalise as norm

MODES = ("full", "diff")
IDENTIFIER_MODES = ("none", "hashed", "clear")
#: contact columns read from txn dim_customer, aliased with this prefix in the source
CONTACT_PREFIX = "c_"
CONTACT_COLUMNS = ("first_name", "last_name", "email", "phone", "address_line", "city", "region", "postal_code",
                   "country", "birth_date", "gender")


def contact(name: str) -> exp.Column:
    return exp.column(CONTACT_PREFIX + name, table="src", quoted=True)


def src(name: str) -> exp.Column:
    return exp.column(name, table="src", quoted=True)


def by_value_name(key: str) -> str:
    """The audience column holding a by-value key's normalised value."""
    return "v_" + key


@dataclass(frozen=True)
class ExportRequest:
    """What to export where: everything a job needs to run again identically."""

    segment_id: str
    version: int
    destination: str
    mode: str = "full"
    attributes: tuple[str, ...] = ()
    include_control: bool = False
    identifiers: str = "none"
    #: folder for file outputs (a local path or a Unity Catalog volume path)
    folder: str | None = None
    #: target of the warehouse-table destination, as schema.table
    table_name: str | None = None
    url: str | None = None
    batch_size: int = 500
    max_retries: int = 5
    timeout_s: float = 10.0
    #: the auth header is a secret: kept in memory for the run, never stored
    auth_header: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SpecError(f"export mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.identifiers not in IDENTIFIER_MODES:
            raise SpecError(f"identifiers {self.identifiers!r} must be one of {', '.join(IDENTIFIER_MODES)}")
        if self.batch_size < 1 or self.max_retries < 0 or self.timeout_s <= 0:
            raise SpecError("batch size must be 1 or more, retries 0 or more and the timeout positive")
        object.__setattr__(self, "attributes", tuple(dict.fromkeys(a for a in self.attributes if a != "customer_id")))

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("auth_header")
        data["has_auth_header"] = bool(self.auth_header)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, auth_header: str | None = None) -> ExportRequest:
        data = json.loads(text)
        data.pop("has_auth_header", None)
        data["attributes"] = tuple(data.get("attributes") or ())
        return cls(**data, auth_header=auth_header)

    @property
    def target(self) -> str:
        """Where the output goes, part of the key that diff exports compare against."""
        return self.table_name or self.url or ""


@dataclass(frozen=True)
class Delivered:
    rows: int
    checksum: str
    output_path: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class DeliveryContext:
    """What a delivery needs besides the rows: where, how, and a progress callback."""

    job_id: str
    request: ExportRequest
    warehouse: object
    output_dir: Path
    file_stem: str
    #: called with a fraction 0..1 while delivering; may raise to stop the job
    progress: Callable[[float], None] = lambda fraction: None
    #: the projection query, for destinations that write inside the warehouse
    query: exp.Select | None = None
    idempotency_base: str = ""


class Destination:
    """One place segments go. Subclasses set the class attributes and override what differs."""

    name = ""
    label = ""
    #: "file", "table" or "webhook"
    kind = "file"
    file_format = "csv"
    #: platform files have a fixed column set: no attributes, identifiers always hashed
    fixed_schema = False
    #: share of usable members a platform typically matches to its users (an assumption, shown as such)
    expected_match_rate = 1.0
    #: measured throughput, for the duration estimate shown before the click
    seconds_per_row = 1e-6
    key_column = "customer_id"
    #: output columns normalised in the warehouse and hashed afterwards, once per distinct value
    hash_after_fetch: tuple[str, ...] = ()
    #: why a member ``usable`` rejects is left out (empty: every member is usable)
    unusable_reason = ""

    def normalise(self, request: ExportRequest) -> ExportRequest:
        """The request as this destination runs it: platform files carry their own fixed, hashed
        columns (no attributes, identifiers hashed)."""
        if self.fixed_schema:
            return replace(request, attributes=(), identifiers="hashed")
        return request

    # -- columns ----------------------------------------------------------
    def projections(self, request: ExportRequest) -> list[exp.Expression]:
        """Output columns over ``src``: key, split group, attributes, identifiers as asked."""
        columns: list[exp.Expression] = [src("customer_id").as_(self.key_column, quoted=True),
                                         src("split_group").as_("split_group", quoted=True)]
        columns += [src(a).as_(a, quoted=True) for a in request.attributes]
        return columns + self.identifier_columns(request.identifiers)

    def identifier_columns(self, identifiers: str) -> list[exp.Expression]:
        if identifiers == "hashed":
            return [norm.hashed(norm.n("email")).as_("email_sha256", quoted=True),
                    norm.hashed(norm.n("phone")).as_("phone_sha256", quoted=True)]
        if identifiers == "clear":
            names = self.clear_names()
            return [contact(column).as_(names[column], quoted=True) for column in names]
        return []

    def clear_names(self) -> dict[str, str]:
        """Contact column -> output name when identifiers go out in clear."""
        return {"email": "email", "phone": "phone", "first_name": "first_name", "last_name": "last_name"}

    def hashed_columns(self) -> tuple[str, ...]:
        """Output columns holding only SHA-256 hex digests (or NULL), which never need CSV quoting:
        a platform file's hashed keys."""
        return tuple(self.normalised_keys())

    def hashed_keys(self) -> list[exp.Expression]:
        """The platform's keys as output columns: hashed in the warehouse, or after the fetch for
        the keys in ``hash_after_fetch`` (normalised in the audience, see ``by_value_columns``)."""
        return [(src(by_value_name(key)) if key in self.hash_after_fetch else norm.hashed(value)).as_(key, quoted=True)
                for key, value in self.normalised_keys().items()]

    def by_value_columns(self) -> dict[str, exp.Expression]:
        """``hash_after_fetch`` key -> its normalised value over the contact columns.

        These keys take few distinct values (names, cities, months...). Computed
        in the audience query itself, next to the scan of the customer table,
        the engine still sees each distinct value once (DuckDB runs a function
        over a dictionary-encoded column once per dictionary entry); after the
        identifier join it would run once per member.
        """
        return {k: v for k, v in self.normalised_keys().items() if k in self.hash_after_fetch}

    def normalised_keys(self) -> dict[str, exp.Expression]:
        """A platform file's key -> its normalised value (before hashing); empty for other destinations."""
        return {}

    # -- who can be used --------------------------------------------------
    def usable(self, request: ExportRequest) -> exp.Expression:
        """Members this destination can use; the rest are excluded with a reason."""
        return exp.true()

    def exclusion_reason(self, request: ExportRequest) -> exp.Expression:
        if not self.unusable_reason:
            return exp.null()
        return exp.If(this=self.usable(request), true=exp.null(), false=exp.Literal.string(self.unusable_reason))

    def problems(self, request: ExportRequest) -> dict[str, exp.Expression]:
        """Identifier -> expression naming its problem (NULL when fine), for the pre-flight check."""
        if not self.needs_normalised(request):
            return {}
        return {"email": norm.n("email_problem"), "phone": norm.n("phone_problem")}

    def needs_normalised(self, request: ExportRequest) -> bool:
        """Whether the source must carry the staged email and phone columns (``normalise.staged``)."""
        return self.fixed_schema or request.identifiers != "none"

    # -- delivery ---------------------------------------------------------
    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:  # pragma: no cover - interface
        raise NotImplementedError
