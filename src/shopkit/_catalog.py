"""Catalog rules shared by the server, the SDK and the CLI (no server import, no I/O).

One definition of each: the category slug (``"Home & Garden"`` and ``home-garden`` are one
category on every side) and the shape of a product's options and variants in a catalog file.
"""

from __future__ import annotations

import unicodedata

# A catalog CSV row sharing a product with the rows before it names the product's sku here
# (the way Shopify's CSV shares a handle); the row's own ``sku`` is then the variant's.
PRODUCT_SKU_COLUMN = "product_sku"
# ``option1_name``/``option1_value`` .. ``option3_*``: a CSV variant row's option values.
MAX_CSV_OPTIONS = 3


def slugify(text: str) -> str:
    """``"Home & Garden"`` -> ``"home-garden"``; accents dropped, other scripts kept."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words: list[str] = []
    word: list[str] = []
    for ch in kept:
        if ch.isalnum():
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return "-".join(words)
