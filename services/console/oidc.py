"""Sign-in through the county's OpenID Connect provider: the authorization-code flow with PKCE
(RFC 7636), with plain httpx. The provider's access token (a JWT the services verify against
``ONEWINDOW_AUTH_JWKS_URL``) is kept in the session row in place of a local one; the person's
role and unit are the token's claims, as every service reads them.

The flow's state (state, nonce, PKCE verifier, where to go back) travels in a short-lived,
HMAC-signed, HttpOnly cookie: nothing is stored before the provider answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from .config import ConsoleSettings

FLOW_COOKIE = "ow_oidc"
FLOW_SECONDS = 600


class OidcError(Exception):
    """The sign-in through the provider did not complete (said to the person in zh-CN)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


class Oidc:
    def __init__(self, settings: ConsoleSettings, key: bytes, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.key = key
        self.http = httpx.AsyncClient(timeout=settings.console_backend_timeout_seconds, transport=transport)
        self._meta: dict[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.console_oidc_issuer and self.settings.console_oidc_client_id)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            issuer = (self.settings.console_oidc_issuer or "").rstrip("/")
            try:
                r = await self.http.get(f"{issuer}/.well-known/openid-configuration")
                r.raise_for_status()
                meta = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError("统一身份认证服务暂时无法访问，请稍后再试") from exc
            if not meta.get("authorization_endpoint") or not meta.get("token_endpoint"):
                raise OidcError("统一身份认证服务的配置不完整，请联系中心信息管理员")
            self._meta = meta
        return self._meta

    # -- the flow cookie ------------------------------------------------------------------------
    def _sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        mac = _b64(hmac.new(self.key, ("oidc:" + body).encode(), hashlib.sha256).digest())
        return f"{body}.{mac}"

    def _read(self, value: str | None) -> dict[str, Any] | None:
        if not value or "." not in value:
            return None
        body, mac = value.rsplit(".", 1)
        expected = _b64(hmac.new(self.key, ("oidc:" + body).encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
            return None
        return payload

    # -- the two legs ---------------------------------------------------------------------------
    async def start(self, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """The provider's authorization URL and the flow cookie's value."""
        meta = await self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        query = urlencode({
            "response_type": "code", "client_id": self.settings.console_oidc_client_id, "redirect_uri": redirect_uri,
            "scope": "openid profile", "state": state, "nonce": nonce,
            "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
        })
        cookie = self._sign({"state": state, "nonce": nonce, "verifier": verifier, "next": next_url,
                             "exp": int(time.time()) + FLOW_SECONDS})
        sep = "&" if "?" in meta["authorization_endpoint"] else "?"
        return f"{meta['authorization_endpoint']}{sep}{query}", cookie

    async def finish(self, code: str | None, state: str | None, cookie: str | None, redirect_uri: str,
                     error: str | None = None) -> tuple[str, str]:
        """Exchange the code for tokens: (the access token, where to go back)."""
        if error:
            raise OidcError("统一身份认证未完成（已取消或被拒绝），请重新登录")
        flow = self._read(cookie)
        if flow is None or not state or not hmac.compare_digest(str(flow.get("state")), state) or not code:
            raise OidcError("登录已过期或来源不明，请重新登录")
        meta = await self.metadata()
        secret = self.settings.console_oidc_client_secret
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.settings.console_oidc_client_id, "code_verifier": flow["verifier"]}
        if secret:
            data["client_secret"] = secret.get_secret_value()
        try:
            r = await self.http.post(meta["token_endpoint"], data=data, headers={"Accept": "application/json"})
            r.raise_for_status()
            tokens = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("统一身份认证服务未能完成登录，请重新登录") from exc
        token = tokens.get("access_token")
        if not isinstance(token, str) or not token:
            raise OidcError("统一身份认证服务没有返回访问令牌，请联系中心信息管理员")
        return token, str(flow.get("next") or "/desk")
