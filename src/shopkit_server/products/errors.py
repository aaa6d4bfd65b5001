"""Errors of the product service (the first two are seen by the cart and order services too).

ShopError
 ├── NotFound (404)      ProductNotFound, CategoryNotFound
 ├── PermissionDenied    InactiveNeedsAdmin (403)
 ├── Conflict (409)      InsufficientStock, SkuTaken, CategoryExists, CategoryInUse,
 │                       ReservationReleased, ReservationMismatch, ReservationPending
 └── Unprocessable (422) UnknownCategory, UnknownParent, CategoryCycle, InvalidPriceRange,
                         InvalidCategoryName, TooManyTags (code ``unprocessable``)
"""

from __future__ import annotations

from collections.abc import Sequence

from shopkit_server.errors import Conflict, NotFound, PermissionDenied, Unprocessable


class ProductNotFound(NotFound):
    code = "product_not_found"
    detail = "Product not found."


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(self, product_ids: Sequence[str], detail: str | None = None) -> None:
        self.product_ids = list(product_ids)
        super().__init__(
            detail or f"Not enough stock for product(s): {', '.join(self.product_ids)}."
        )


class SkuTaken(Conflict):
    code = "sku_taken"
    detail = "Another product already has this sku."


class CategoryNotFound(NotFound):
    code = "category_not_found"
    detail = "Category not found."


class CategoryExists(Conflict):
    code = "category_exists"
    detail = "A category with this name already exists."


class CategoryInUse(Conflict):
    code = "category_in_use"
    detail = "The category is still used by products or sub-categories."


class UnknownCategory(Unprocessable):
    code = "unknown_category"
    detail = "The category does not exist."
    loc = ("body", "category")


class UnknownParent(Unprocessable):
    code = "unknown_parent"
    detail = "The parent category does not exist."
    loc = ("body", "parent_id")


class CategoryCycle(Unprocessable):
    code = "category_cycle"
    detail = "A category cannot be its own ancestor."
    loc = ("body", "parent_id")


class InvalidCategoryName(Unprocessable):
    code = "invalid_category_name"
    detail = "A category name needs at least one letter or digit."
    loc = ("body", "name")


class InvalidPriceRange(Unprocessable):
    code = "invalid_price_range"
    detail = "min_price must not be greater than max_price."
    loc = ("query", "min_price")


class TooManyTags(Unprocessable):
    loc = ("query", "tags")

    def __init__(self, limit: int) -> None:
        super().__init__(f"At most {limit} tags can be combined.")


class InactiveNeedsAdmin(PermissionDenied):
    code = "forbidden"
    detail = "Only admins can see inactive products."


class ReservationReleased(Conflict):
    """Reservation ids are single-use: once released, the id can never take stock again."""

    code = "reservation_released"
    detail = "This stock reservation was released; use a new reservation id."


class ReservationMismatch(Conflict):
    code = "reservation_mismatch"
    detail = "This reservation id already holds different lines."


class ReservationPending(Conflict):
    code = "reservation_pending"
    detail = "Another request is still reserving stock under this id; retry shortly."


class VariantNotFound(NotFound):
    code = "variant_not_found"
    detail = "Variant not found."


class VariantRequired(Unprocessable):
    """The product has several variants: the request must say which one."""

    code = "variant_required"
    detail = "This product has several variants; name one with variant_id."
    loc = ("body", "variant_id")


class OptionValuesInvalid(Unprocessable):
    code = "option_values_invalid"
    detail = "option_values must give one value of each option of the product."
    loc = ("body", "option_values")


class DuplicateVariant(Conflict):
    code = "duplicate_variant"
    detail = "Another variant of this product has the same option values or sku."
