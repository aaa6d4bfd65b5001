"""Pages of a list endpoint, and lazy iteration over all of them."""

from shopkit._pagination import AsyncPage, walk_pages
from shopkit._sync._pagination import SyncPage

__all__ = ["AsyncPage", "SyncPage", "walk_pages"]
