"""The demo retailer's channels, merchants, products and countries."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

# Countries the retailer sells in: share of customers, currency, regions.
COUNTRIES = {
    "US": (0.58, "USD", ["US-Northeast", "US-South", "US-Midwest", "US-West"]),
    "GB": (0.16, "GBP", ["UK-London", "UK-North", "UK-Scotland"]),
    "DE": (0.10, "EUR", ["DE-North", "DE-South"]),
    "FR": (0.06, "EUR", ["FR-Paris", "FR-South"]),
    "CA": (0.10, "CAD", ["CA-East", "CA-West"]),
}
CITIES = {
    "US-Northeast": ["Springfield", "Fairview", "Riverton"],
    "US-South": ["Franklin", "Clinton", "Madison"],
    "US-Midwest": ["Greenville", "Salem", "Georgetown"],
    "US-West": ["Bristol", "Oakdale", "Lakeside"],
    "UK-London": ["Westbury", "Eastham"],
    "UK-North": ["Northby", "Dalesford"],
    "UK-Scotland": ["Glenmore", "Lochside"],
    "DE-North": ["Nordstadt", "Hafenberg"],
    "DE-South": ["Suedheim", "Bergdorf"],
    "FR-Paris": ["Villeneuve", "Montclair"],
    "FR-South": ["Beaulieu", "Sainte-Mer"],
    "CA-East": ["Maplewood", "Port Hope"],
    "CA-West": ["Cedar Bay", "Pine Ridge"],
}

CHANNELS = pd.DataFrame(
    {
        "channel_code": ["web", "app", "store"],
        "channel_name": ["Web shop", "Mobile app", "Store"],
        "is_online": [True, True, False],
        "status_code": ["active", "active", "active"],
    }
)

# Category: (share of demand, median unit price in USD, price spread, subcategories, brands)
CATEGORIES = {
    "apparel": (0.22, 38.0, 0.55, ["tops", "bottoms", "outerwear", "dresses"]),
    "footwear": (0.10, 72.0, 0.45, ["sneakers", "boots", "sandals"]),
    "beauty": (0.13, 22.0, 0.60, ["skincare", "makeup", "fragrance"]),
    "home": (0.14, 45.0, 0.80, ["kitchen", "bedding", "decor"]),
    "electronics": (0.09, 140.0, 0.90, ["audio", "phones", "smart home"]),
    "grocery": (0.16, 12.0, 0.50, ["pantry", "snacks", "beverages"]),
    "sports": (0.09, 55.0, 0.70, ["fitness", "outdoor", "cycling"]),
    "toys": (0.07, 28.0, 0.60, ["games", "plush", "building"]),
}
BRANDS = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware", "Woodgrove"]
PRODUCTS_PER_CATEGORY = 50


def products(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for cat, (_, median, spread, subcats) in CATEGORIES.items():
        prices = np.round(median * rng.lognormal(0.0, spread, PRODUCTS_PER_CATEGORY), 2)
        prices = np.maximum(prices, 1.99)
        for i in range(PRODUCTS_PER_CATEGORY):
            sub = subcats[i % len(subcats)]
            brand = BRANDS[int(rng.integers(len(BRANDS)))]
            rows.append(
                {
                    "product_id": f"P-{cat[:3].upper()}-{i:03d}",
                    "sku": f"SKU{len(rows):06d}",
                    "product_name": f"{brand} {sub} {i:03d}",
                    "category": cat,
                    "subcategory": sub,
                    "brand": brand,
                    "list_price_usd": float(prices[i]),
                    "launched_date": date(2022, 1, 1) + pd.Timedelta(days=int(rng.integers(0, 1000))),
                    "status_code": "active",
                }
            )
    return pd.DataFrame(rows)


def merchants() -> pd.DataFrame:
    """Own stores per region, one web and one app shop per country, marketplace partners."""
    rows = []
    for country, (_, _, regions) in COUNTRIES.items():
        for region in regions:
            for k in range(2):
                rows.append((f"M-{region}-S{k + 1}", f"{CITIES[region][k % len(CITIES[region])]} store",
                             "own_store", "store", region, country))
        rows.append((f"M-{country}-WEB", f"{country} web shop", "own_online", "web", None, country))
        rows.append((f"M-{country}-APP", f"{country} app shop", "own_online", "app", None, country))
        rows.append((f"M-{country}-MKT", f"{country} marketplace partner", "marketplace", "web", None, country))
    df = pd.DataFrame(rows, columns=["merchant_id", "merchant_name", "merchant_type", "channel_code", "region", "country"])
    df["opened_date"] = date(2018, 3, 1)
    df["status_code"] = "active"
    return df
