"""Staff authentication and authorisation.

Bearer tokens are signed JWTs carrying the staff member's id (``sub``), ``name``, ``role``
(clerk, unit head, supervisor, center admin) and ``unit``. Locally they are HS256 with a key from
the environment (``onewindow token`` issues them); in production the county's OIDC provider signs
them and the services fetch its published keys (``ONEWINDOW_AUTH_JWKS_URL``).

Routes declare who may call them::

    @router.post("/applications")
    async def accept(staff: CurrentStaff, ...): staff.ensure_unit(unit_code)

    @router.get("/guide", **PUBLIC)        # explicitly public; every other route needs a token
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from contracts.common import Role

from .problems import Problem
from .settings import ServiceSettings

#: Route keyword arguments that mark an endpoint as public (no token). Checked at start-up:
#: a route that is neither public nor asks for a staff member is refused.
PUBLIC: dict[str, Any] = {"openapi_extra": {"x-public": True}}
#: A public route whose input is another system's protocol (a provider's delivery receipts): it
#: checks every value itself, item by item, so the door's refusal of control characters
#: (services.runtime.params) does not turn one bad item into a refused (and resent) batch.
PUBLIC_RAW_INPUT: dict[str, Any] = {"openapi_extra": {"x-public": True, "x-raw-input": True}}

_ROLE_RANK = {Role.CLERK: 0, Role.UNIT_HEAD: 1, Role.SUPERVISOR: 2, Role.CENTER_ADMIN: 3}


class Staff(BaseModel):
    sub: str
    name: str = ""
    role: Role
    unit: str | None = None

    @property
    def center_wide(self) -> bool:
        """Supervisors and the center admin act on every unit; clerks and unit heads on their own."""
        return self.role in (Role.SUPERVISOR, Role.CENTER_ADMIN)

    def ensure_unit(self, unit_code: str) -> None:
        if not self.center_wide and self.unit != unit_code:
            raise Problem(403, f"您只能办理本单位（{self.unit}）的业务，不能操作单位 {unit_code} 的数据", field="unit_code")

    def ensure_role(self, *roles: Role) -> None:
        if self.role not in roles:
            names = "、".join(ROLE_LABELS[r] for r in roles)
            raise Problem(403, f"此操作仅限{names}办理，您的角色是{ROLE_LABELS[self.role]}")


ROLE_LABELS = {
    Role.CLERK: "窗口工作人员",
    Role.UNIT_HEAD: "单位负责人",
    Role.SUPERVISOR: "督查人员",
    Role.CENTER_ADMIN: "中心管理员",
}


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True) if settings.auth_jwks_url else None
        self._secret: str | None = None

    @property
    def secret(self) -> str:
        if self._secret is None:
            self._secret = self.settings.resolved_auth_secret
        return self._secret

    def issue(self, sub: str, role: Role | str, unit: str | None = None, name: str = "", ttl: int = 8 * 3600) -> str:
        if self._jwks is not None:
            raise RuntimeError("tokens are issued by the county OIDC provider in this deployment")
        now = int(time.time())
        claims = {
            "sub": sub, "name": name, "role": Role(role).value, "unit": unit,
            "iss": self.settings.auth_issuer, "aud": self.settings.auth_audience, "iat": now, "exp": now + ttl,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> Staff:
        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256"]
            else:
                key, algorithms = self.secret, ["HS256"]
            claims = jwt.decode(
                token, key, algorithms=algorithms, audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer, options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise Problem(401, "登录已过期，请重新登录", headers={"WWW-Authenticate": "Bearer"}) from None
        except jwt.PyJWTError:
            raise Problem(401, "身份凭证无效", headers={"WWW-Authenticate": "Bearer"}) from None
        try:
            return Staff(sub=claims["sub"], name=claims.get("name", ""), role=claims.get("role"), unit=claims.get("unit"))
        except ValueError:
            raise Problem(403, "身份凭证中的角色无效") from None


_bearer = HTTPBearer(auto_error=False, description="Staff token (JWT). `onewindow token` issues one locally.")


async def current_staff(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Staff:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Problem(401, "请先登录（缺少身份凭证）", headers={"WWW-Authenticate": "Bearer"})
    auth: Authenticator = request.app.state.service.auth
    return auth.verify(creds.credentials)


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency: ``staff: Annotated[Staff, require_roles(Role.SUPERVISOR)]``."""

    async def dep(staff: CurrentStaff) -> Staff:
        staff.ensure_role(*roles)
        return staff

    return Depends(dep)


Supervisor = Annotated[Staff, require_roles(Role.SUPERVISOR, Role.CENTER_ADMIN)]
CenterAdmin = Annotated[Staff, require_roles(Role.CENTER_ADMIN)]
UnitHead = Annotated[Staff, require_roles(Role.UNIT_HEAD, Role.SUPERVISOR, Role.CENTER_ADMIN)]
