"""What people do with the console's own state: sign in (argon2, lockout), keep a session, sign
out, and the demo accounts. Case work goes to the services (see routers/)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from contracts.common import Role
from services.runtime import clock
from services.runtime.auth import Authenticator
from services.runtime.db import Database

from . import domain
from .config import ConsoleSettings
from .store import AccountRow, SessionRow, Store, aware

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
SESSION_CACHE_SECONDS = 5.0
#: Verified against when the username is unknown, so that an unknown name costs as much as a
#: wrong password (no telling which names exist by timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")

#: The demo county's accounts (``ONEWINDOW_CONSOLE_DEMO_ACCOUNTS=1``): one per role, and a clerk
#: of a second unit (to see that another unit's case is out of reach).
DEMO_ACCOUNTS: tuple[dict[str, str | None], ...] = (
    {"username": "clerk", "password": "Chuangkou2026", "name": "王小丽", "role": Role.CLERK.value, "unit": "FGJ"},
    {"username": "clerk2", "password": "Chuangkou2026", "name": "李建国", "role": Role.CLERK.value, "unit": "GAJ"},
    {"username": "head", "password": "Fuzeren2026", "name": "赵志强", "role": Role.UNIT_HEAD.value, "unit": "FGJ"},
    {"username": "supervisor", "password": "Ducha2026", "name": "孙敏", "role": Role.SUPERVISOR.value, "unit": None},
    {"username": "admin", "password": "Guanli2026", "name": "周海燕", "role": Role.CENTER_ADMIN.value, "unit": None},
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # the cookie's value (only its hash is stored)
    row: SessionRow


@dataclass(frozen=True)
class SignInRefused:
    reason: str
    locked: bool = False


class Accounts:
    """Sign-in, sessions and accounts over the console's database."""

    def __init__(self, db: Database, settings: ConsoleSettings, auth: Authenticator) -> None:
        self.db = db
        self.settings = settings
        self.auth = auth
        self.lockout = domain.LockoutRule(settings.console_lockout_failures,
                                          timedelta(minutes=settings.console_lockout_minutes))
        self._seeded = False
        self._seed_lock: asyncio.Lock | None = None
        #: Sessions read in the last few seconds (id hash -> (row, when read)): a page is one
        #: query less. Sign-out clears its entry here; another console replica may still accept
        #: a signed-out cookie for at most SESSION_CACHE_SECONDS.
        self._cache: dict[str, tuple[SessionRow, float]] = {}

    async def ready(self) -> None:
        """The demo accounts exist (when the setting asks for them) before anyone signs in."""
        if self._seeded or not self.settings.console_demo_accounts:
            return
        if self._seed_lock is None:
            self._seed_lock = asyncio.Lock()
        async with self._seed_lock:
            if not self._seeded:
                await self.seed_demo()
                self._seeded = True

    # -- accounts --------------------------------------------------------------------------------
    async def create_account(self, username: str, password: str, name: str, role: Role | str,
                             unit: str | None, *, check_policy: bool = True, now: datetime | None = None) -> AccountRow:
        now = now or clock.system_now()  # sessions and lockouts: bookkeeping
        username = username.strip().lower()
        problems = domain.password_problems(password, username) if check_policy else []
        if problems:
            raise ValueError("；".join(problems))
        role = Role(role)
        if role in (Role.CLERK, Role.UNIT_HEAD) and not unit:
            raise ValueError("窗口工作人员和单位负责人须属于一个单位")
        hashed = await asyncio.to_thread(hash_password, password)
        async with self.db.session() as s:
            row = AccountRow(username=username, password_hash=hashed, name=name, role=role.value,
                             unit_code=unit, created_at=now, password_changed_at=now)
            await s.merge(row)
            await s.commit()
        return row

    async def seed_demo(self) -> list[str]:
        """Create the demo accounts that do not exist yet (idempotent); their usernames."""
        made = []
        async with self.db.session() as s:
            existing = {a.username for a in await Store(s).accounts()}
        for a in DEMO_ACCOUNTS:
            if a["username"] in existing:
                continue
            await self.create_account(str(a["username"]), str(a["password"]), str(a["name"]), str(a["role"]),
                                      a["unit"], check_policy=False)
            made.append(str(a["username"]))
        if made:
            log.info("demo accounts created: %s", ", ".join(made))
        return made

    # -- sign in / out ---------------------------------------------------------------------------
    async def sign_in(self, username: str, password: str, *, now: datetime | None = None) -> SignedIn | SignInRefused:
        await self.ready()
        now = now or clock.system_now()  # sessions and lockouts: bookkeeping
        username = (username or "").strip().lower()[:64]
        if not username or not password:
            return SignInRefused("请输入用户名和密码")
        # Reads, then the password check off the event loop and outside any transaction (argon2
        # takes tens of milliseconds on purpose), then short writes.
        async with self.db.session() as s:
            store = Store(s)
            failures = await store.failures_since(username, now - self.lockout.window)
            until = self.lockout.locked_until(failures, now)
            if until is not None:
                return SignInRefused(
                    f"连续登录失败次数过多，账户已暂时锁定，请{domain.minutes_left(until, now)}分钟后再试", locked=True)
            account = await store.account(username)
            who = (account.username, account.name, account.role, account.unit_code) if account else None
            stored_hash = account.password_hash if account else _DUMMY_HASH
            active = bool(account and account.active)
        ok = await asyncio.to_thread(_verify, stored_hash, password)
        if not ok or who is None or not active:
            async with self.db.session() as s:
                await Store(s).add_failure(username, now)
                await s.commit()
            left = self.lockout.failures - len(failures) - 1
            if left <= 0:
                return SignInRefused(
                    f"连续登录失败次数过多，账户已暂时锁定，请{self.settings.console_lockout_minutes}分钟后再试",
                    locked=True)
            return SignInRefused(f"用户名或密码不正确（再错{left}次将锁定{self.settings.console_lockout_minutes}分钟）")
        max_age = timedelta(hours=self.settings.console_session_max_hours)
        try:
            token = self.auth.issue(who[0], Role(who[2]), who[3], who[1], ttl=int(max_age.total_seconds()) + 300)
        except RuntimeError:  # the county's OIDC provider signs the tokens here
            return SignInRefused("本系统使用统一身份认证登录，请点击“使用统一身份认证登录”")
        rehash = await asyncio.to_thread(hash_password, password) if _hasher.check_needs_rehash(stored_hash) else None
        async with self.db.session() as s:
            store = Store(s)
            if failures:
                await store.clear_failures(username)
            if rehash:
                row = await store.account(username)
                if row is not None:
                    row.password_hash = rehash
                    s.add(row)
            await s.commit()
        return await self.open_session(*who, token, now + max_age, now=now)

    async def open_session(self, username: str, name: str, role: str, unit: str | None, token: str,
                           expires_at: datetime, *, now: datetime | None = None) -> SignedIn:
        """A new session carrying ``token`` (a local one, or the OIDC provider's)."""
        now = now or clock.system_now()  # sessions and lockouts: bookkeeping
        session_id = secrets.token_urlsafe(32)
        async with self.db.session() as s:
            row = SessionRow(id_hash=session_hash(session_id), username=username[:64], name=(name or username)[:50],
                             role=role, unit_code=unit, token=token, csrf=secrets.token_urlsafe(24),
                             created_at=now, last_seen=now, expires_at=expires_at)
            s.add(row)
            await Store(s).purge(now, now - self.lockout.window * 4)
            await s.commit()
            s.expunge(row)
        log.info("signed in: %s (%s)", username, role)
        return SignedIn(session_id, row)

    async def session(self, session_id: str | None, *, now: datetime | None = None) -> SessionRow | None:
        """The live session for the cookie's value, None when there is none or it has ended
        (idle too long or past its end). A session in use is kept alive (at most one write a minute)."""
        if not session_id or len(session_id) > 100:
            return None
        now = now or clock.system_now()  # sessions and lockouts: bookkeeping
        idle = timedelta(minutes=self.settings.console_session_idle_minutes)
        key = session_hash(session_id)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[1] < SESSION_CACHE_SECONDS:
            row = cached[0]
            if aware(row.expires_at) > now and now - aware(row.last_seen) < idle:  # type: ignore[operator]
                return row
        self._cache.pop(key, None)
        if len(self._cache) > 5000:
            self._cache.clear()
        async with self.db.session() as s:
            row = await s.get(SessionRow, session_hash(session_id))
            if row is None:
                return None
            last, ends = aware(row.last_seen), aware(row.expires_at)
            if ends <= now or now - last >= idle:  # type: ignore[operator]
                await s.delete(row)
                await s.commit()
                return None
            if now - last > timedelta(seconds=60):  # type: ignore[operator]
                row.last_seen = now
                s.add(row)
                await s.commit()
                await s.refresh(row)
            s.expunge(row)
            self._cache[key] = (row, time.monotonic())
            return row

    async def sign_out(self, session_id: str | None) -> None:
        if not session_id:
            return
        self._cache.pop(session_hash(session_id), None)
        async with self.db.session() as s:
            row = await s.get(SessionRow, session_hash(session_id))
            if row is not None:
                await s.delete(row)
                await s.commit()


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
