"""The cloud SMS provider (Alibaba Cloud SendSms) against a local fake HTTP endpoint, its
signature against the documented example, the embedded file provider, and the rate limiter."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest

from services.notify.domain import Outcome
from services.notify.providers import aliyun
from services.notify.providers.aliyun import AliyunSmsProvider
from services.notify.providers.base import OutgoingSms, RateLimiter
from services.notify.providers.file import FileProvider

SECRET = "testSecret"


def test_signature_matches_the_worked_example_in_alibaba_cloud_docs():
    # The SMS documentation's example request (signature version 1.0, GET).
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun.canonicalized_query(params).startswith(
        "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
        "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8")
    assert aliyun.sign(params, SECRET, "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_percent_encoding_rules():
    assert aliyun.percent_encode("a b*c~d+e/") == "a%20b%2Ac~d%2Be%2F"


class _FakeDysms:
    """A local HTTP endpoint behaving like dysmsapi's SendSms: checks the signature and answers
    by phone number."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                fake.requests.append(params)
                if fake.delay:
                    time.sleep(fake.delay)
                status, body = fake.answer(params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, p: dict[str, str]) -> tuple[int, dict]:
        if not aliyun.verify(p, SECRET, "POST"):
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        phone = p["PhoneNumbers"]
        if phone.endswith("0000"):
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r1"}
        if phone.endswith("1111"):
            return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "r2"}
        if phone.endswith("5555"):
            return 503, {}
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.requests)}", "RequestId": "r3"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _sms(mobile: str, message_id: str = "m-1") -> OutgoingSms:
    return OutgoingSms(message_id, mobile, "【示范县行政审批服务中心】您的申请已受理", "notice_acceptance",
                       "您的申请已受理", {"receipt_no": "2025-SJJ-00042", "url": "https://x/s/abc"})


def _provider(url: str, timeout: float = 5.0) -> AliyunSmsProvider:
    return AliyunSmsProvider(access_key_id="testId", access_key_secret=SECRET, sign_name="示范县行政审批服务中心",
                             template_codes={"notice_acceptance": "SMS_100001"}, endpoint=url, timeout=timeout)


async def test_send_sms_is_signed_and_carries_template_code_and_params():
    with _FakeDysms() as fake:
        p = _provider(fake.url)
        result = await p.send(_sms("13800138000", "msg-42"))
        await p.stop()
    assert result.outcome is Outcome.ACCEPTED
    assert result.accepted_parts == {1: "biz-1"}
    [req] = fake.requests
    assert req["Action"] == "SendSms" and req["Version"] == "2017-05-25"
    assert req["SignName"] == "示范县行政审批服务中心"
    assert req["TemplateCode"] == "SMS_100001"
    assert json.loads(req["TemplateParam"]) == {"receipt_no": "2025-SJJ-00042", "url": "https://x/s/abc"}
    assert req["OutId"] == "msg-42" and req["PhoneNumbers"] == "13800138000"
    assert p.health().ok


async def test_error_codes_are_classified():
    with _FakeDysms() as fake:
        p = _provider(fake.url)
        illegal = await p.send(_sms("13800130000"))
        limited = await p.send(_sms("13800131111"))
        unavailable = await p.send(_sms("13800135555"))
        await p.stop()
    assert (illegal.outcome, illegal.code) == (Outcome.PERMANENT, "isv.MOBILE_NUMBER_ILLEGAL")
    assert (limited.outcome, limited.code) == (Outcome.TEMPORARY, "isv.BUSINESS_LIMIT_CONTROL")
    assert unavailable.outcome is Outcome.TEMPORARY
    assert not p.health().ok


async def test_wrong_secret_is_permanent():
    with _FakeDysms() as fake:
        p = AliyunSmsProvider(access_key_id="testId", access_key_secret="wrong", sign_name="x",
                              template_codes={"notice_acceptance": "SMS_1"}, endpoint=fake.url)
        result = await p.send(_sms("13800138000"))
        await p.stop()
    assert (result.outcome, result.code) == (Outcome.PERMANENT, "SignatureDoesNotMatch")


async def test_timeout_after_the_request_left_is_unknown_and_refused_connection_is_temporary():
    with _FakeDysms() as fake:
        fake.delay = 1.0
        p = _provider(fake.url, timeout=0.2)
        slow = await p.send(_sms("13800138000"))
        await p.stop()
    assert slow.outcome is Outcome.UNKNOWN  # it reached the server: do not send it again blindly
    assert len(fake.requests) == 1
    # Nothing listens on this port any more: the request never left.
    p2 = _provider(fake.url, timeout=0.5)
    refused = await p2.send(_sms("13800138000"))
    await p2.stop()
    assert refused.outcome is Outcome.TEMPORARY


async def test_unconfigured_template_is_permanent_and_already_accepted_is_not_resent():
    with _FakeDysms() as fake:
        p = _provider(fake.url)
        no_code = await p.send(OutgoingSms("m", "13800138000", "【x】y", "survey"))
        again = await p.send(OutgoingSms("m", "13800138000", "【x】y", "notice_acceptance", already_accepted={1: "biz-9"}))
        await p.stop()
    assert no_code.outcome is Outcome.PERMANENT and "survey" in no_code.reason
    assert again.outcome is Outcome.ACCEPTED and again.accepted_parts == {1: "biz-9"}
    assert fake.requests == []


def test_parse_push_reports():
    receipts = aliyun.parse_reports([
        {"phone_number": "13800138000", "send_time": "2025-03-05 10:00:00", "report_time": "2025-03-05 10:00:05",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "biz-1", "out_id": "m-1"},
        {"phone_number": "13800138001", "success": False, "err_code": "MK:0001", "biz_id": "biz-2", "out_id": "m-2"},
        {"phone_number": "13800138002", "success": True},  # no biz_id: ignored
    ])
    assert [(r.provider_message_id, r.status, r.delivered) for r in receipts] == [
        ("biz-1", "DELIVRD", True), ("biz-2", "UNDELIV", False)]
    assert receipts[1].error == "MK:0001"


async def test_file_provider_writes_json_lines_and_counts_as_delivered(tmp_path):
    path = tmp_path / "data" / "sms-outbox.jsonl"
    p = FileProvider(path)
    text = "【示范县行政审批服务中心】" + "审" * 80
    r1 = await p.send(OutgoingSms("m-1", "13800138000", text, "notice_acceptance"))
    r2 = await p.send(OutgoingSms("m-2", "13900139000", "【中心】好", "survey"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(x["message_id"], x["mobile"], x["text"]) for x in lines] == [
        ("m-1", "13800138000", text), ("m-2", "13900139000", "【中心】好")]
    assert lines[0]["parts"] == 2
    assert r1.outcome is Outcome.ACCEPTED and r1.delivered and r1.parts == 2 and len(r1.accepted_parts) == 2
    assert r2.delivered


async def test_rate_limiter_spaces_requests_by_the_bucket():
    # The limiter is aiolimiter's (on the event loop's clock): lower bounds only, the machine may be slow.
    limiter = RateLimiter(5, burst=2)
    loop = asyncio.get_running_loop()
    start, stamps = loop.time(), []
    for _ in range(4):
        await limiter.acquire()
        stamps.append(loop.time() - start)
    assert stamps[1] < 0.15  # a burst of 2 at once
    assert stamps[2] >= 0.19 and stamps[3] >= 0.39  # then 5 per second
    assert stamps[3] < 5


async def test_rate_limiter_serves_first_come_first_and_lets_a_long_message_go():
    limiter = RateLimiter(100, burst=4)
    await limiter.acquire(4)  # the bucket is empty now
    order: list[str] = []

    async def take(name: str, parts: int) -> None:
        await limiter.acquire(parts)
        order.append(name)

    await asyncio.gather(take("long", 6), take("short", 1))  # 6 parts > burst: still goes, at the burst
    assert order == ["long", "short"]
    with pytest.raises(ValueError):
        RateLimiter(0)


async def test_httpx_client_can_be_injected():
    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        assert aliyun.verify(params, SECRET, "POST")
        return httpx.Response(200, json={"Code": "OK", "BizId": "b-1"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    p = AliyunSmsProvider(access_key_id="testId", access_key_secret=SECRET, sign_name="x",
                          template_codes={"notice_acceptance": "SMS_1"}, client=client)
    assert (await p.send(_sms("13800138000"))).accepted_parts == {1: "b-1"}
    await client.aclose()
