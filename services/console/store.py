"""The console's own tables: staff accounts (argon2 password hashes), sessions (the browser holds
only an opaque id; the row keeps its SHA-256 and the staff token the services accept) and failed
sign-ins (for the lockout). No case data: that stays in the services."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Text, delete, func
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime.db import service_registry

Base, metadata = service_registry()


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class AccountRow(Base, table=True):
    __tablename__ = "console_accounts"

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(max_length=50)
    role: str = Field(max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    active: bool = True
    created_at: datetime
    password_changed_at: datetime


class SessionRow(Base, table=True):
    __tablename__ = "console_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's value
    username: str = Field(index=True, max_length=64)
    name: str = Field(max_length=50)
    role: str = Field(max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    token: str = Field(sa_column=Column(Text, nullable=False))  # the staff JWT the services accept
    csrf: str = Field(max_length=64)
    created_at: datetime
    last_seen: datetime = Field(index=True)
    expires_at: datetime = Field(index=True)


class LoginFailureRow(Base, table=True):
    __tablename__ = "console_login_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=64)
    at: datetime = Field(index=True)


class Store:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, username: str) -> AccountRow | None:
        return await self.session.get(AccountRow, username)

    async def accounts(self) -> list[AccountRow]:
        return list((await self.session.exec(select(AccountRow).order_by(AccountRow.username))).all())

    async def session_row(self, id_hash: str) -> SessionRow | None:
        return await self.session.get(SessionRow, id_hash)

    async def failures_since(self, username: str, since: datetime) -> list[datetime]:
        rows = await self.session.exec(
            select(LoginFailureRow.at).where(LoginFailureRow.username == username, LoginFailureRow.at >= since))
        return [aware(t) for t in rows.all()]  # type: ignore[misc]

    async def add_failure(self, username: str, at: datetime) -> None:
        self.session.add(LoginFailureRow(username=username, at=at))

    async def clear_failures(self, username: str) -> None:
        await self.session.exec(delete(LoginFailureRow).where(LoginFailureRow.username == username))  # type: ignore[call-overload]

    async def purge(self, now: datetime, failures_before: datetime) -> None:
        """Drop ended sessions and old failures."""
        await self.session.exec(delete(SessionRow).where(SessionRow.expires_at < now))  # type: ignore[call-overload]
        await self.session.exec(delete(LoginFailureRow).where(LoginFailureRow.at < failures_before))  # type: ignore[call-overload]

    async def count_sessions(self) -> int:
        return int((await self.session.exec(select(func.count()).select_from(SessionRow))).one())
