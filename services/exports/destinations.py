"""Every destination by name: the one list pages, the CLI and jobs look up.

Adding a destination is adding its module and a line here; the Exports page
form and the CLI flags come from its declared options (``options_in_use``).
"""

from __future__ import annotations

from services.errors import SpecError
from services.exports.base import Destination, Option
from services.exports.braze import BrazeDestination
from services.exports.files import CsvDestination, ParquetDestination
from services.exports.google_ads import GoogleAdsDestination
from services.exports.meta import MetaDestination
from services.exports.salesforce import SalesforceDestination
from services.exports.table import WarehouseTableDestination
from services.exports.webhook import WebhookDestination

DESTINATIONS: dict[str, Destination] = {d.name: d for d in (
    CsvDestination(), ParquetDestination(), WarehouseTableDestination(), MetaDestination(), GoogleAdsDestination(),
    BrazeDestination(), SalesforceDestination(), WebhookDestination(),
)}


def destination(name: str) -> Destination:
    if name not in DESTINATIONS:
        raise SpecError(f"unknown destination {name!r}; choose one of {', '.join(DESTINATIONS)}")
    return DESTINATIONS[name]


def options_in_use() -> dict[Option, tuple[str, ...]]:
    """Each option some destination declares -> the names of the destinations that take it.

    A request field is one flag on the command line, so destinations that share
    a field must declare it alike (share the ``Option``): a clash raises ValueError.
    """
    users: dict[Option, list[str]] = {}
    by_field: dict[str, Option] = {}
    for dest in DESTINATIONS.values():
        for option in dest.options:
            known = by_field.setdefault(option.name, option)
            if known != option:
                raise ValueError(f"destination {dest.name!r} declares option {option.name!r} unlike another")
            users.setdefault(option, []).append(dest.name)
    return {option: tuple(names) for option, names in users.items()}
