"""Request paths as shopkit's middleware sees them: below the mount point, matched by segment."""

from __future__ import annotations

from starlette.types import Scope


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (Starlette keeps the full path in a mounted app)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def is_under(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` or below it, segment by segment (``/shopping`` is not under
    ``/shop``); every path is under the empty prefix."""
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")
