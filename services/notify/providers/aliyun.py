"""Alibaba Cloud SMS (dysmsapi, API version 2017-05-25) ``SendSms`` over HTTPS with httpx.

Signature: the RPC-style signature version 1.0 (HMAC-SHA1): parameters sorted by name, each name
and value percent-encoded per RFC 3986 (space -> %20, ``*`` -> %2A, ``~`` kept), joined with
``&``; StringToSign = METHOD + "&" + enc("/") + "&" + enc(canonicalized query); the signature is
base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). The unit test checks it against the worked
example in Alibaba Cloud's SMS documentation.

The text itself is not sent: SendSms takes a registered template (``TemplateCode``) and its
variables (``TemplateParam``, JSON) plus the registered signature (``SignName``); the template
texts registered with the provider must match ``templates/sms/`` (the setting maps names to codes).

Delivery receipts come back by the provider's push (SmsReport) to notify's HTTP endpoint; see
:func:`parse_reports`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import httpx

from services.runtime import clock
from services.runtime.workdays import TZ

from ..domain import ALIYUN_TEMPORARY, Outcome, Receipt, SendResult, classify_aliyun_code, sms_text
from .base import OutgoingSms, ProviderHealth, SmsProvider

API_VERSION = "2017-05-25"


def percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def sign(params: Mapping[str, str], access_key_secret: str, method: str = "POST") -> str:
    """Signature 1.0 of ``params`` (which must not contain ``Signature``)."""
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify(params: Mapping[str, str], access_key_secret: str, method: str = "POST") -> bool:
    """Check a request's ``Signature`` (used by the test's fake endpoint)."""
    given = params.get("Signature", "")
    expected = sign({k: v for k, v in params.items() if k != "Signature"}, access_key_secret, method)
    return hmac.compare_digest(given, expected)


class AliyunSmsProvider(SmsProvider):
    name = "aliyun"

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str,
                 template_codes: Mapping[str, str], endpoint: str = "https://dysmsapi.aliyuncs.com",
                 region_id: str = "cn-hangzhou", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.template_codes = dict(template_codes)
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region_id = region_id
        self._client = client
        self._own_client = client is None
        self._timeout = timeout
        self._last_error = ""
        self._last_ok: datetime | None = None

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)

    async def stop(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def request_params(self, sms: OutgoingSms, *, nonce: str | None = None, timestamp: datetime | None = None) -> dict[str, str]:
        ts = (timestamp or clock.system_now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": sms.message_id,
            "PhoneNumbers": sms.mobile,
            "RegionId": self.region_id,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_codes[sms.template],
            "TemplateParam": json.dumps(sms.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": ts,
            "Version": API_VERSION,
        }
        params["Signature"] = sign(params, self._secret, "POST")
        return params

    async def send(self, sms: OutgoingSms) -> SendResult:
        parts = sms_text.measure(sms.text).parts
        if sms.already_accepted:  # SendSms is all or nothing: an accepted message is done
            return SendResult(Outcome.ACCEPTED, self.name, dict(sms.already_accepted), parts, "OK", "already accepted")
        if sms.template not in self.template_codes:
            return SendResult(Outcome.PERMANENT, self.name, parts=parts, code="no_template_code",
                              reason=f"no TemplateCode configured for template {sms.template!r}")
        if self._client is None:
            await self.start()
        assert self._client is not None
        data = self.request_params(sms)
        try:
            resp = await self._client.post(self.endpoint, data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never reached the provider.
            self._last_error = f"{type(exc).__name__}: {exc}"
            return SendResult(Outcome.TEMPORARY, self.name, parts=parts, code=type(exc).__name__, reason=f"连接短信平台失败：{exc}")
        except httpx.TransportError as exc:
            # Read timeout, connection reset after the request was written: it may have gone.
            self._last_error = f"{type(exc).__name__}: {exc}"
            return SendResult(Outcome.UNKNOWN, self.name, parts=parts, code=type(exc).__name__,
                              reason=f"请求已发出但未收到应答：{type(exc).__name__}")
        return self._result(resp, parts)

    def _result(self, resp: httpx.Response, parts: int) -> SendResult:
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {}
        code = str(body.get("Code") or "")
        message = str(body.get("Message") or "")
        if not code:
            self._last_error = f"HTTP {resp.status_code} without a result code"
            if resp.status_code in (502, 503, 429):
                return SendResult(Outcome.TEMPORARY, self.name, parts=parts, code=f"HTTP{resp.status_code}", reason=self._last_error)
            # 500 or 504: the provider may have acted on it.
            return SendResult(Outcome.UNKNOWN, self.name, parts=parts, code=f"HTTP{resp.status_code}", reason=self._last_error)
        outcome = classify_aliyun_code(code)
        if outcome is Outcome.ACCEPTED:
            self._last_error = ""
            self._last_ok = clock.system_now()
            biz_id = str(body.get("BizId") or "")
            # One BizId covers the whole (possibly multi-part) message.
            return SendResult(outcome, self.name, {1: biz_id}, parts, code, message or "OK")
        self._last_error = f"{code}: {message}"
        reason = ALIYUN_TEMPORARY.get(code) or message or code
        return SendResult(outcome, self.name, parts=parts, code=code, reason=reason)

    def health(self) -> ProviderHealth:
        return ProviderHealth(self.name, not self._last_error, self._last_error or "ok",
                              {"last_ok": self._last_ok.isoformat() if self._last_ok else None})


def parse_reports(payload: Iterable[Mapping[str, Any]]) -> list[Receipt]:
    """Receipts from an SmsReport push: a JSON array of objects with ``biz_id``, ``success``,
    ``err_code`` (``DELIVERED`` on success) and ``report_time`` ('2017-05-24 18:55:50', Beijing)."""
    out: list[Receipt] = []
    for item in payload:
        biz_id = item.get("biz_id")
        if isinstance(biz_id, int) and not isinstance(biz_id, bool):
            biz_id = str(biz_id)
        # Not an id SendSms gave (those are short printable strings): it cannot match a message,
        # and the database may refuse to store it (NUL, longer than the column).
        if not isinstance(biz_id, str) or not 0 < len(biz_id) <= MAX_BIZ_ID or not biz_id.isprintable():
            continue
        success = item.get("success") in (True, "true", "True", 1)
        status = "DELIVRD" if success else "UNDELIV"
        error = "".join(c for c in str(item.get("err_code") or "") if c.isprintable())
        out.append(Receipt("aliyun", biz_id, status, _report_time(item.get("report_time")), error))
    return out


#: The longest provider message id notify stores (``notify_receipts.provider_message_id``).
MAX_BIZ_ID = 80
#: Receipts older than SMS itself are typos (and a time near year 1 has no UTC equivalent).
_EARLIEST_REPORT = datetime(2000, 1, 1, tzinfo=UTC)


def _report_time(value: Any) -> datetime | None:
    """The report's time ('2017-05-24 18:55:50', Beijing), or None when absent or implausible."""
    if not isinstance(value, str) or not value:
        return None
    try:
        done = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ)
    except ValueError:
        return None
    return done if done >= _EARLIEST_REPORT else None
