"""Pages of a list endpoint, and lazy iteration over all of them."""

from shopkit._pagination import AsyncPage, Position, walk_pages
from shopkit._sync._pagination import SyncPage

__all__ = ["AsyncPage", "Position", "SyncPage", "walk_pages"]
