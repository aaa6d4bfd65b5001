"""MongoDB storage for users and refresh tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.auth.models import User, UserChanges
from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.ids import is_valid_id
from shopkit_server.pagination import PageResult
from shopkit_server.security import Role
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.mongo.db import Document, MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    await db["users"].create_index([("email", ASCENDING)], unique=True, name="users_email")
    await db["users"].create_index([("created_at", DESCENDING)], name="users_created")
    await db["refresh_tokens"].create_index([("user_id", ASCENDING)], name="refresh_user")
    await db["refresh_tokens"].create_index([("family", ASCENDING)], name="refresh_family")
    await db["refresh_families"].create_index(
        [("expires_at", ASCENDING)], expireAfterSeconds=0, name="refresh_families_ttl"
    )
    # TTL: the server deletes expired refresh tokens by itself.
    await db["refresh_tokens"].create_index(
        [("expires_at", ASCENDING)], expireAfterSeconds=0, name="refresh_ttl"
    )


def _utc(moment: datetime) -> datetime:
    # Stored BSON dates carry no zone; the client is tz_aware, but be explicit for the stand-in.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _user(doc: Document) -> User:
    return User(
        id=str(doc["_id"]),
        email=doc["email"],
        name=doc["name"],
        role=Role(doc["role"]),
        is_active=bool(doc["is_active"]),
        password_hash=doc["password_hash"],
        created_at=_utc(doc["created_at"]),
        last_login=_utc(doc["last_login"]) if doc.get("last_login") else None,
        # Accounts stored before verification existed have neither field: unverified, v0.
        email_verified=bool(doc.get("email_verified", False)),
        token_version=int(doc.get("token_version", 0)),
    )


class MongoUserRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._users = db["users"]

    async def add(self, user: User) -> None:
        try:
            await self._users.insert_one(
                {
                    "_id": ObjectId(user.id),
                    "email": user.email,
                    "name": user.name,
                    "role": user.role.value,
                    "is_active": user.is_active,
                    "password_hash": user.password_hash,
                    "created_at": user.created_at,
                    "last_login": user.last_login,
                    "email_verified": user.email_verified,
                    "token_version": user.token_version,
                }
            )
        except MongoDuplicateKey as exc:
            raise DuplicateKeyError("email") from exc

    async def get(self, user_id: str) -> User | None:
        if not is_valid_id(user_id):
            return None
        doc = await self._users.find_one({"_id": ObjectId(user_id)})
        return _user(doc) if doc else None

    async def get_by_email(self, email: str) -> User | None:
        doc = await self._users.find_one({"email": email.lower()})
        return _user(doc) if doc else None

    async def update(self, user_id: str, changes: UserChanges) -> User | None:
        if not is_valid_id(user_id):
            return None
        values: dict[str, Any] = {
            "name": changes.name,
            "email": changes.email,
            "role": changes.role.value if changes.role else None,
            "is_active": changes.is_active,
            "password_hash": changes.password_hash,
            "last_login": changes.last_login,
            "email_verified": changes.email_verified,
        }
        sets = {field: value for field, value in values.items() if value is not None}
        update: Document = {"$set": sets} if sets else {}
        if changes.bump_token_version:
            update["$inc"] = {"token_version": 1}
        try:
            if update:
                doc = await self._users.find_one_and_update(
                    {"_id": ObjectId(user_id)},
                    update,
                    return_document=ReturnDocument.AFTER,
                )
            else:
                doc = await self._users.find_one({"_id": ObjectId(user_id)})
        except MongoDuplicateKey as exc:
            raise DuplicateKeyError("email") from exc
        return _user(doc) if doc else None

    async def list(self, *, query: str | None, offset: int, limit: int) -> PageResult[User]:
        filter_: Document = {}
        if query:
            pattern = re.escape(query.lower())
            filter_ = {
                "$or": [
                    {"email": {"$regex": pattern}},
                    {"name": {"$regex": pattern, "$options": "i"}},
                ]
            }
        total = await self._users.count_documents(filter_)
        cursor = (
            self._users.find(filter_)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return PageResult(items=[_user(doc) for doc in await cursor.to_list(None)], total=total)


class MongoRefreshTokenRepository:
    """Refresh tokens, one document each, plus ``refresh_families``: revoked families.

    Without multi-document transactions, reuse is made safe by ordering: the reuse path marks
    the family revoked *before* revoking its tokens, and a rotation stores its successor
    *before* reading that mark. Whatever the interleaving, either the rotation sees the mark
    (and revokes its own successor) or the successor exists when the tokens are revoked.
    """

    def __init__(self, db: MongoDatabase) -> None:
        self._tokens = db["refresh_tokens"]
        self._families = db["refresh_families"]

    async def add(
        self, jti: str, user_id: str, expires_at: datetime, *, family: str | None = None
    ) -> None:
        await self._tokens.insert_one(
            {
                "_id": jti,
                "user_id": user_id,
                "expires_at": expires_at,
                "revoked": False,
                "family": family or jti,
            }
        )

    async def rotate(
        self, jti: str, user_id: str, now: datetime, successor: str, successor_expires_at: datetime
    ) -> RefreshOutcome:
        spent = await self._tokens.find_one_and_update(
            {"_id": jti, "user_id": user_id, "revoked": False, "expires_at": {"$gt": now}},
            {"$set": {"revoked": True}},
        )
        if spent is None:
            doc = await self._tokens.find_one({"_id": jti, "user_id": user_id})
            if doc is None or not doc["revoked"]:
                return RefreshOutcome.INVALID  # unknown, another user's, or expired
            await self._revoke_family(doc.get("family") or jti, _utc(doc["expires_at"]))
            return RefreshOutcome.REUSED
        family = spent.get("family") or jti
        await self.add(successor, user_id, successor_expires_at, family=family)
        if await self._families.find_one({"_id": family}) is not None:
            # The family was revoked while this rotation ran: its successor goes too.
            await self._tokens.update_one({"_id": successor}, {"$set": {"revoked": True}})
            return RefreshOutcome.REUSED
        return RefreshOutcome.ROTATED

    async def _revoke_family(self, family: str, until: datetime) -> None:
        # The mark only has to outlive rotations in flight; it expires with the reused token.
        await self._families.update_one(
            {"_id": family}, {"$set": {"expires_at": until}}, upsert=True
        )
        await self._tokens.update_many(
            {"family": family, "revoked": False}, {"$set": {"revoked": True}}
        )

    async def revoke(self, jti: str, user_id: str) -> None:
        await self._tokens.update_one({"_id": jti, "user_id": user_id}, {"$set": {"revoked": True}})

    async def revoke_all(self, user_id: str) -> None:
        await self._tokens.update_many(
            {"user_id": user_id, "revoked": False}, {"$set": {"revoked": True}}
        )
