"""shopkit's server: the auth, products, cart and orders services as mountable FastAPI routers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shopkit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
