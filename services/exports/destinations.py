"""Every destination by name: the one list pages, the CLI and jobs look up."""

from __future__ import annotations

from services.errors import SpecError
from services.exports.base import Destination
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
