"""The interface every destination implements, and the export request.

A destination is one class that owns everything about the place it sends
members to:

* its **options**: the request fields it asks for (``Option``: label, type,
  help, bounds, CLI flag), from which the Exports page form and the CLI flags
  are generated, and which ``normalise`` checks;
* its **identifier rules**: ``fixed_schema``, ``normalise``, ``projections``
  and ``identifier_columns`` turn the audience source (one row per member:
  customer id, split group, chosen gold attributes, contact columns from the
  current customer row, aliased ``src``) into its output columns with sqlglot
  expressions; ``usable`` and ``problems`` say whom it can use and why not;
* its **diff behaviour**: ``diff_delivery`` picks what a diff export delivers;
* its **delivery**: ``deliver`` (and ``remove_partial`` for what a killed run
  left), including the query it runs when it writes inside the warehouse.

The job (``jobs.py``) knows none of this: adding a destination is one module
and its entry in ``destinations.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pyarrow as pa
from sqlglot import exp

from services.errors import SpecError
from services.exports import normalise as norm
from services.exports.filestore import FileStore, LocalStore

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


#: what a secret reads as wherever it would be stored or shown
REDACTED = "REDACTED"
#: shorter query values (v=2, page=1) are not scrubbed from messages: they are not secrets and are everywhere
MIN_SECRET_LENGTH = 4


def redact_url(url: str | None) -> str | None:
    """``url`` without its secrets: user info and every query value become REDACTED, the fragment goes.

    The scheme, host, port, path and query names stay, so the endpoint is still recognisable.
    """
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{REDACTED}@{host}" if "@" in parts.netloc else host
    query = "&".join(f"{name}={REDACTED}" if sep else name
                     for name, sep, _ in (pair.partition("=") for pair in parts.query.split("&") if pair))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_secrets(url: str | None) -> list[str]:
    """The secret texts of a URL (user info, query values), as written and decoded."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.netloc.rpartition("@")[0], parts.query, parts.fragment]
    found += parts.netloc.rpartition("@")[0].split(":")
    found += [value for _, _, value in (pair.partition("=") for pair in parts.query.split("&"))]
    return [v for text in found if text for v in {text, unquote(text)}]


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
    #: stored with its secrets (user info, query values) redacted; a run needs them given again
    url: str | None = field(default=None, metadata={"redacted": True})
    batch_size: int = 500
    max_retries: int = 5
    timeout_s: float = 10.0
    #: the auth header is a secret: kept in memory for the run, never stored
    auth_header: str | None = field(default=None, compare=False, repr=False, metadata={"secret": True})
    #: the job this one runs again: a webhook re-sends its batches under that job's idempotency keys
    rerun_of: str | None = None

    def __post_init__(self) -> None:
        # The destination's own options are checked by the destination (``Destination.normalise``).
        if self.mode not in MODES:
            raise SpecError(f"export mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.identifiers not in IDENTIFIER_MODES:
            raise SpecError(f"identifiers {self.identifiers!r} must be one of {', '.join(IDENTIFIER_MODES)}")
        object.__setattr__(self, "attributes", tuple(dict.fromkeys(a for a in self.attributes if a != "customer_id")))

    @staticmethod
    def secret_fields() -> tuple[str, ...]:
        """Fields that are never stored, logged or shown (a job row says only whether one was given)."""
        return tuple(f.name for f in fields(ExportRequest) if f.metadata.get("secret"))

    @staticmethod
    def redacted_fields() -> tuple[str, ...]:
        """Fields stored with their secret parts redacted (a URL's user info and query values)."""
        return tuple(f.name for f in fields(ExportRequest) if f.metadata.get("redacted"))

    def to_json(self) -> str:
        data = asdict(self)
        for name in self.secret_fields():
            data["has_" + name] = bool(data.pop(name))
        for name in self.redacted_fields():
            data[name] = redact_url(data[name])
        if data["rerun_of"] is None:
            del data["rerun_of"]  # requests stored before re-runs carried their origin read the same
        return json.dumps(data, sort_keys=True)

    def missing_secrets(self) -> list[str]:
        """Redacted fields read back from a row: their secret parts must be given again to run."""
        return [name for name in self.redacted_fields() if REDACTED in (getattr(self, name) or "")]

    def secret_values(self) -> list[str]:
        """The secret texts this request holds, to scrub from anything that is stored or shown."""
        values = []
        for name in self.secret_fields():
            value = getattr(self, name)
            if value:
                values += [value, value.partition(":")[2].strip()]
        for name in self.redacted_fields():
            values += url_secrets(getattr(self, name))
        return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this request replaced by REDACTED."""
        for value in self.secret_values():
            text = text.replace(value, REDACTED)
        return text

    @classmethod
    def from_json(cls, text: str, *, secrets: Mapping[str, str | None] | None = None) -> ExportRequest:
        """The request a job row stored, with the secrets its caller holds (rows never keep them)."""
        data = json.loads(text)
        for name in cls.secret_fields():
            data.pop("has_" + name, None)
        data["attributes"] = tuple(data.get("attributes") or ())
        return cls(**data).with_secrets(secrets or {})

    def with_secrets(self, secrets: Mapping[str, str | None]) -> ExportRequest:
        """The request with the secrets its caller holds: secret fields, and redacted ones in full."""
        secrets = {k: v for k, v in secrets.items() if v is not None or k in self.secret_fields()}
        # A redacted field comes back in full only as the same address: a caller adds the secret
        # parts a row does not keep, never another destination.
        unknown = set(secrets) - set(self.secret_fields()) - {
            name for name in self.redacted_fields() if redact_url(secrets.get(name)) == redact_url(getattr(self, name))}
        if unknown:
            raise SpecError(f"{', '.join(sorted(unknown))} is not a secret of an export request (only the same "
                            "address, with its secret parts, may be given)")
        return replace(self, **secrets)


#: ExportRequest field -> its dataclass field (default, whether secret), for the options below
_REQUEST_FIELDS = {f.name: f for f in fields(ExportRequest)}
_OPTION_TYPES = (str, int, float)


@dataclass(frozen=True)
class Option:
    """A request field a destination asks for, declared once for the page form, the CLI and the checks.

    Its default and whether it is secret are the request field's own (the
    request is what jobs store, so it alone says what is kept). Numbers are
    checked against ``minimum`` and ``maximum`` (inclusive; ``exclusive_minimum``
    for "more than"); text, when given, by ``check``, which raises SpecError.
    """

    #: the ExportRequest field it sets
    name: str
    label: str
    type: type = str
    help: str = ""
    placeholder: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    check: Callable[[str], object] | None = None
    #: the CLI flag, when not ``--`` and the name with dashes
    flag: str = ""
    #: the environment variable the CLI reads when the flag is not given (keeps secrets off command lines)
    env: str = ""
    #: the Settings field a form starts from (the app's export folder), when not the request's default
    setting: str = ""
    #: a job cannot start without it (a webhook's URL); the form says so before the click
    required: bool = False

    def __post_init__(self) -> None:
        if self.name not in _REQUEST_FIELDS:
            raise ValueError(f"option {self.name!r} is not a field of ExportRequest")
        if self.type not in _OPTION_TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of str, int, float")

    @property
    def default(self):
        return _REQUEST_FIELDS[self.name].default

    @property
    def secret(self) -> bool:
        return bool(_REQUEST_FIELDS[self.name].metadata.get("secret"))

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def validate(self, value) -> None:
        """Raise SpecError, naming the option, when ``value`` is not one it accepts."""
        if self.type is str:
            if value and self.check is not None:
                self.check(value)
            return
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            raise SpecError(f"{self.label.lower()} must be {'more than' if self.exclusive_minimum else 'at least'} "
                            f"{self.minimum:g}, not {value:g}")
        if self.maximum is not None and value > self.maximum:
            raise SpecError(f"{self.label.lower()} must be at most {self.maximum:g}, not {value:g}")


@dataclass(frozen=True)
class Delivered:
    rows: int
    checksum: str
    output_path: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryContext:
    """What a delivery needs besides the rows: where, how, and a progress callback."""

    job_id: str
    request: ExportRequest
    warehouse: object
    #: the app's export folder: where outputs go unless the request names another
    output_dir: Path
    #: the job's name for its outputs (segment, version, destination, mode, job id)
    file_stem: str
    #: called with a fraction 0..1 while delivering; may raise to stop the job
    progress: Callable[[float], None] = lambda fraction: None
    #: the audience source (``audience.source_query``), for destinations that write inside the warehouse
    audience: exp.Select | None = None
    #: which addresses a destination that calls out may reach: None, any (run locally); otherwise public
    #: addresses and these networks only (as a Databricks App, where a user's URL must not reach the
    #: platform's private, loopback or link-local services)
    private_networks: tuple[str, ...] | None = None
    #: where file outputs are written: this machine's disk, or a Unity Catalog volume (filestore.py)
    store: FileStore = field(default_factory=LocalStore)


class Destination:
    """One place segments go. Subclasses set the class attributes and override what differs."""

    name = ""
    label = ""
    #: the request fields this destination asks for (see ``Option``), in the order a form shows them
    options: tuple[Option, ...] = ()
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
        """The request as this destination runs it, its options checked: platform files carry their
        own fixed, hashed columns (no attributes, identifiers hashed).

        Raises SpecError for an option value the destination does not accept.
        """
        for option in self.options:
            option.validate(getattr(request, option.name))
        if self.fixed_schema:
            return replace(request, attributes=(), identifiers="hashed")
        return request

    def missing(self, request: ExportRequest) -> list[str]:
        """Labels of the required options ``request`` leaves empty: a job needs them to start."""
        return [option.label for option in self.options if option.required and not getattr(request, option.name)]

    def target(self, request: ExportRequest) -> str:
        """Where the output goes, part of the key that diff exports compare against ("" for files)."""
        return ""

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
            return [self.clear_value(column).as_(names[column], quoted=True) for column in names]
        return []

    def clear_names(self) -> dict[str, str]:
        """Contact column -> output name when identifiers go out in clear."""
        return {"email": "email", "phone": "phone", "first_name": "first_name", "last_name": "last_name"}

    def clear_value(self, column: str) -> exp.Expression:
        """A contact column as it goes out in clear: as stored, unless the platform wants it normalised."""
        return contact(column)

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

    # -- diffs and delivery -----------------------------------------------
    def diff_delivery(self, rows: pa.Table, changes: pa.Table) -> pa.Table:
        """What a diff export delivers, given every member it exports now (``rows``) and the
        changes since the last export (``changes``: an ``action`` column, add or remove, first).

        Most destinations carry only the changes; one that keeps the whole audience (a
        table, merged) takes ``rows``.
        """
        return changes

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:  # pragma: no cover - interface
        raise NotImplementedError

    def remove_partial(self, ctx: DeliveryContext) -> None:
        """Clear what a killed or failed run of the same job left half-written (nothing, unless the
        destination writes in steps that can be seen before the end)."""
