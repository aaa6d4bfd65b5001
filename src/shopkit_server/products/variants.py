"""The rules a product's options and variants obey, checked before any store write.

One value of each option per variant, from that option's values; no two variants with the same
combination or the same sku; 1 to ``MAX_VARIANTS`` variants; a product without options has
exactly its default variant (``option_values == {}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shopkit_server.products.models import (
    MAX_VARIANTS,
    BulkRow,
    Product,
    ProductOption,
    Variant,
    VariantDraft,
    bulk_variants,
    option_keys,
)


class VariantRuleBroken(ValueError):
    """A rule of this module does not hold; ``duplicate``: two variants clash."""

    def __init__(self, message: str, *, duplicate: bool = False) -> None:
        self.duplicate = duplicate
        super().__init__(message)


def check_option_values(options: Sequence[ProductOption], option_values: dict[str, str]) -> None:
    """OptionValuesInvalid unless ``option_values`` names one allowed value of each option."""
    names = [option.name for option in options]
    if set(option_values) != set(names):
        wanted = ", ".join(names) if names else "no options"
        raise VariantRuleBroken(
            f"option_values must give exactly one value of each option ({wanted})."
        )
    for option in options:
        if option_values[option.name] not in option.values:
            raise VariantRuleBroken(
                f"{option_values[option.name]!r} is not a value of option {option.name!r} "
                f"({', '.join(option.values)})."
            )


def check_variants(
    options: Sequence[ProductOption], variants: Sequence[Variant | VariantDraft]
) -> None:
    """Every rule of the module docstring, over the whole set a product would have."""
    if not variants:
        raise VariantRuleBroken("A product with options needs at least one variant.")
    if len(variants) > MAX_VARIANTS:
        raise VariantRuleBroken(f"A product has at most {MAX_VARIANTS} variants.")
    if not options and len(variants) > 1:
        raise VariantRuleBroken("A product without options has exactly one variant.")
    combos: set[tuple[str, ...]] = set()
    skus: set[str] = set()
    for variant in variants:
        check_option_values(options, variant.option_values)
        combo = tuple(variant.option_values[option.name] for option in options)
        if combo in combos:
            raise VariantRuleBroken(
                f"Two variants have the same option values ({' / '.join(combo)}).",
                duplicate=True,
            )
        combos.add(combo)
        if variant.sku is not None:
            if variant.sku in skus:
                raise VariantRuleBroken(
                    f"Two variants have the sku {variant.sku!r}.", duplicate=True
                )
            skus.add(variant.sku)


def option_keys_text(option_values: dict[str, str]) -> str:
    """``{"Size": "M", "Colour": "Blue"}`` -> ``"|size:m|colour:blue|"`` (``"|"`` for none).

    The form SQL stores match an option filter on (``instr(keys, '|size:m|')``), and the
    per-product unique key of a combination (values are stored in the options' order).
    """
    return "|" + "".join(f"{key}|" for key in option_keys(option_values))


def bulk_plan(row: BulkRow, current: Product) -> tuple[list[ProductOption], list[Variant]]:
    """Options and variants of ``current`` after upserting ``row``; VariantRuleBroken when
    the result breaks a rule (every store checks this before it writes the row)."""
    options = list(row.draft.options) if "options" in row.fields else list(current.options)
    if not options and "variants" in row.fields and row.draft.variants:
        raise VariantRuleBroken("A product without options has one variant: leave variants out.")
    variants = bulk_variants(row, current)
    variants = [
        replace(
            v,
            option_values={
                o.name: v.option_values[o.name] for o in options if o.name in v.option_values
            },
        )
        if set(v.option_values) == {o.name for o in options}
        else v
        for v in variants
    ]
    check_variants(options, variants)
    return options, variants


def check_new_row(row: BulkRow) -> None:
    """The rules for a row that creates a product (VariantRuleBroken when one fails)."""
    if row.draft.options:
        check_variants(row.draft.options, row.draft.variants)
    elif row.draft.variants:
        raise VariantRuleBroken("A product without options has one variant: leave variants out.")
