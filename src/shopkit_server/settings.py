"""Settings from the environment (prefix ``SHOPKIT_``, a ``.env`` file is read too)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopkit_server.client_address import parse_networks


class ServiceName(StrEnum):
    AUTH = "auth"
    PRODUCTS = "products"
    CART = "cart"
    ORDERS = "orders"


ALL_SERVICES: tuple[ServiceName, ...] = tuple(ServiceName)

# Secrets that must never sign tokens: the template-placeholder habit, refused at start.
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "changethis", "your-secret-key"}


class Settings(BaseSettings):
    """Every knob of a shopkit server. Names match API.md, "Settings and commands"."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPKIT_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite:///./shopkit.db"
    jwt_secret_key: str | None = None
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=7, ge=1, le=365)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tax_rate: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)
    shipping_flat: Decimal = Field(default=Decimal("0.00"), ge=0, decimal_places=2)

    # Where the other services live when this process runs only some of them.
    auth_url: str | None = None
    products_url: str | None = None
    cart_url: str | None = None
    orders_url: str | None = None

    # Calls between services: per-request timeout (seconds) and retries for idempotent calls.
    upstream_timeout: float = Field(default=3.0, gt=0, le=60)
    upstream_retries: int = Field(default=2, ge=0, le=5)

    # bcrypt's cost; 12 is the production default, tests lower it to keep the suite fast.
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)

    # Sign-in throttling (auth/throttle.py): attempts per client address per window, and the
    # back-off per (account, client address) after repeated failed password checks.
    auth_throttle_window_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    login_attempts_per_address: int = Field(default=30, ge=0)  # 0: no per-address limit
    register_attempts_per_address: int = Field(default=10, ge=0)
    login_failures_before_backoff: int = Field(default=5, ge=1, le=1000)
    login_backoff_seconds: float = Field(default=1.0, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)
    # A loose account-wide ceiling on password checks (the back-off is per account and address).
    login_attempts_per_account: int = Field(default=100, ge=0)  # 0: no account-wide ceiling
    login_account_window_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)
    # bcrypt runs at most this many at once (0: one per core), with this many queued behind;
    # past that, or past the per-address share, a check is refused (429 server_busy).
    password_hash_concurrency: int = Field(default=0, ge=0, le=256)
    password_hash_queue: int = Field(default=8, ge=0, le=10_000)
    password_checks_per_address: int = Field(default=2, ge=1, le=10_000)
    # How much nicer than the process the hashing threads run (Linux): when a core is
    # contended, requests are served before hashes are computed (0: same priority).
    password_hash_nice: int = Field(default=19, ge=0, le=19)
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR networks, comma-separated).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )

    # Outgoing mail (mail/): smtp://user:pass@host:587 (STARTTLS when the server offers it),
    # smtps://host:465 (implicit TLS), or smtp://127.0.0.1:1025 (a local relay). None: every
    # message is written to the log instead (the console mailer).
    smtp_url: str | None = None
    mail_from: str = Field(default="shopkit <no-reply@localhost>", min_length=3, max_length=200)
    # Where the shop's pages live: links in mails are {public_url}/reset-password?token=...
    public_url: str = "http://localhost:8000"
    # How long a password-reset token and an email-verification token stay valid.
    password_reset_minutes: int = Field(default=30, ge=1, le=24 * 60)
    email_verification_hours: int = Field(default=48, ge=1, le=30 * 24)
    # Account mails (reset requests, verification resends) per account per hour.
    account_mails_per_hour: int = Field(default=5, ge=1, le=1000)
    # Checkout refuses an unverified email (403 email_not_verified) when true.
    require_verified_email_for_checkout: bool = False
    # Guest carts: how long one lives, and how many one client address may open per hour.
    guest_cart_days: int = Field(default=14, ge=1, le=365)
    guest_carts_per_address: int = Field(default=30, ge=0)  # 0: no limit

    # Public catalog reads are cached this long at most (0: off); see read_cache.py.
    catalog_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    # How long past that an entry still current may be served while one request refreshes it.
    catalog_cache_grace_seconds: float = Field(default=1.0, ge=0, le=300)

    # Redis, for what replicas share (replicas/): sign-in throttling, catalog invalidations,
    # account changes and revoked token families. None: everything stays in this process.
    redis_url: str | None = None
    # Every key and channel shopkit uses starts with this (several shops on one Redis).
    redis_prefix: str = Field(default="shopkit:", min_length=1, max_length=100)
    # One Redis call waits this long at most before the in-process fallback answers.
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)

    # SQLite read connections kept open beside the single writer.
    sqlite_read_connections: int = Field(default=4, ge=1, le=32)
    # PostgreSQL: the most connections one process's pool opens (they are opened on demand).
    postgres_pool_size: int = Field(default=10, ge=1, le=200)

    # Payments (payments/). Stripe is offered at checkout once its secret key is set.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    # Where Stripe's API answers (a local stand-in such as stripe-mock in tests and demos).
    stripe_api_base: str = "https://api.stripe.com"
    # The currency of every price in the shop (ISO 4217, lower case), as providers are told.
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    # A provider-paid order not paid this long after checkout is cancelled, its stock released.
    payment_timeout_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    # How often the payment sweeper looks for such orders (and cancelled orders to refund).
    payment_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Webhooks (webhooks/): endpoint URLs resolving to private or loopback addresses are
    # refused unless this is set (tests, local development).
    webhooks_allow_private: bool = False
    # The dispatcher looks for new events and due retries this often.
    webhooks_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    # One delivery attempt waits this long for the endpoint's answer.
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Retries back off exponentially from the first delay up to the longest, until the last
    # attempt (the defaults: 30 s, 1 min, 2 min ... 1 h, 12 attempts over about 6 hours).
    webhooks_retry_base_seconds: float = Field(default=30.0, gt=0, le=24 * 3600)
    webhooks_retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    webhooks_max_attempts: int = Field(default=12, ge=1, le=100)
    # Run the dispatcher and the payment sweeper in this process (orders service).
    background_tasks: bool = True

    log_level: str = "info"
    log_json: bool | None = None  # None: JSON unless stderr is a terminal

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"must be IP addresses or CIDR networks: {exc}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme
        if scheme == "sqlite":
            if not value.startswith("sqlite:///") or value == "sqlite:///":
                raise ValueError(
                    "a SQLite URL looks like sqlite:///relative/path.db or sqlite:////absolute/path.db"
                )
            return value
        if scheme in ("postgresql", "postgres"):
            if not urlsplit(value).netloc:
                raise ValueError(
                    "a PostgreSQL URL needs a host: postgresql://user@host:5432/dbname"
                )
            return value
        if scheme in ("mongodb", "mongodb+srv"):
            if not urlsplit(value).netloc:
                raise ValueError("a MongoDB URL needs a host: mongodb://host:27017/dbname")
            return value
        raise ValueError(
            "the database URL must start with sqlite:///, postgresql://, postgres://, "
            "mongodb:// or mongodb+srv://"
        )

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            raise ValueError("must be a Redis URL such as redis://localhost:6379/0")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must be an SMTP URL: smtp://user:pass@host:587 or smtps://host:465")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://shop.example.com")
        return value.strip().rstrip("/")

    @field_validator("jwt_secret_key")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real random secret")
        if len(value) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("stripe_secret_key", "stripe_webhook_secret")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("stripe_api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://api.stripe.com")
        return value.rstrip("/")

    @field_validator("auth_url", "products_url", "cart_url", "orders_url")
    @classmethod
    def _check_peer_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://localhost:8002")
        return value.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in ("postgresql", "postgres")

    @property
    def sqlite_path(self) -> Path:
        """The database file of a ``sqlite:///`` URL (``sqlite:////abs`` is absolute)."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    def peer_url(self, service: ServiceName) -> str | None:
        return {
            ServiceName.AUTH: self.auth_url,
            ServiceName.PRODUCTS: self.products_url,
            ServiceName.CART: self.cart_url,
            ServiceName.ORDERS: self.orders_url,
        }[service]
