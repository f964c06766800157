"""Fast tests of the console without a browser or the real services: its pure rules, and its
pages against a stand-in for the five services (httpx.MockTransport) through ASGI."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from services.console import domain
from services.console.app import create_service
from services.console.config import ConsoleSettings

SECRET = "unit-test-secret-" + "x" * 32

# ------------------------------------------------------------------------------ pure rules


@pytest.mark.timeout(10)
def test_password_policy() -> None:
    assert domain.password_problems("Chuangkou2026") == []
    assert "密码至少10个字符" in domain.password_problems("Ab1")
    assert "密码须同时包含字母和数字" in domain.password_problems("abcdefghijkl")
    assert "密码不能包含用户名" in domain.password_problems("zhangsan123456", "zhangsan")


@pytest.mark.timeout(10)
def test_lockout_counts_failures_inside_the_window() -> None:
    rule = domain.LockoutRule(3, timedelta(minutes=15))
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    two = [now - timedelta(minutes=1), now - timedelta(minutes=2)]
    assert rule.locked_until(two, now) is None
    three = [*two, now - timedelta(minutes=3)]
    assert rule.locked_until(three, now) == now - timedelta(minutes=1) + timedelta(minutes=15)
    old = [now - timedelta(minutes=20)] * 5
    assert rule.locked_until(old, now) is None


@pytest.mark.timeout(10)
@pytest.mark.parametrize("target,expected", [
    ("/desk/cases/2026-FGJ-00001", "/desk/cases/2026-FGJ-00001"),
    ("/desk?view=all", "/desk?view=all"),
    ("https://evil.example/", "/desk"),
    ("//evil.example/x", "/desk"),
    ("/\\evil", "/desk"),
    ("javascript:alert(1)", "/desk"),
    ("/signin?next=/x", "/desk"),
    ("", "/desk"),
])
def test_only_local_paths_to_return_to(target: str, expected: str) -> None:
    assert domain.safe_next(target) == expected


@pytest.mark.timeout(10)
def test_cards() -> None:
    assert domain.card_for({"state": "running", "overdue": True, "days_left": 0}).colour == "red"
    y = domain.card_for({"state": "running", "overdue": False, "days_left": 2}, 2)
    assert (y.colour, y.label) == ("yellow", "黄牌·剩2个工作日")
    assert domain.card_for({"state": "running", "overdue": False, "days_left": 3}, 2).colour == ""
    assert domain.card_for({"state": "stopped", "overdue": False, "days_left": 1}, 2).colour == ""
    assert domain.card_for({"state": "ended", "on_time": False}).colour == "red"
    assert domain.card_for(None).colour == ""


@pytest.mark.timeout(10)
def test_masking_on_lists() -> None:
    assert domain.masked("张三") == "张*"
    assert domain.masked("欧阳小明") == "欧***"
    assert domain.masked("青山县绿源农业发展有限公司") == "青山县绿源农业发展有限公司"
    assert domain.mask_mobile_display("13812345678") == "138****5678"
    assert domain.mask_id_display("110101199003071234") == "110***********1234"


@pytest.mark.timeout(10)
def test_dates_in_the_centers_words() -> None:
    assert domain.zh_date("2026-12-07") == "2026年12月7日"
    assert domain.zh_datetime("2026-12-07T06:05:00Z") == "2026年12月7日 14:05"
    assert domain.zh_date("2026-12-06T17:00:00+00:00") == "2026年12月7日"


@pytest.mark.timeout(10)
def test_problem_json_maps_to_fields() -> None:
    problem = {"status": 422, "detail": "x", "errors": [
        {"field": "applicant.mobile", "reason": "手机号码无效"},
        {"field": "materials.0", "reason": "材料编号不在清单中"},
        {"field": "conditional", "reason": "不是视情况提交的材料"},
        {"field": "something_else", "reason": "别的问题"}]}
    e = domain.errors_from_problem(problem, ("applicant.mobile", "materials", "conditional_materials"),
                                   {"conditional": "conditional_materials"})
    assert e.fields == {"applicant.mobile": "手机号码无效", "materials": "材料编号不在清单中",
                        "conditional_materials": "不是视情况提交的材料"}
    assert e.general == ["别的问题"]
    legacy = domain.errors_from_problem({"invalid_params": [{"name": "receipt_no", "reason": "没有"}]}, ("receipt_no",))
    assert legacy.fields == {"receipt_no": "没有"}
    assert domain.errors_from_problem({"detail": "冲突了"}).general == ["冲突了"]


@pytest.mark.timeout(10)
def test_step_bar() -> None:
    states = [s["state"] for s in domain.step_bar("accepted")]
    assert states == ["done", "done", "current", "todo", "todo"]
    assert all(s["state"] == "done" for s in domain.step_bar("decided"))


# ------------------------------------------------------------------------------ pages against stand-in services

ITEM = {
    "code": "FGJ-001", "name": "企业投资项目核准", "unit_code": "FGJ", "unit_name": "青山县发展和改革局",
    "case_kind": "promised", "case_kind_label": "承诺件", "promised_days": 10, "free": True, "version": 1,
    "legal_basis": ["《企业投资项目核准和备案管理条例》第六条"], "procedure": ["受理", "审查", "决定"],
    "materials": [
        {"code": "M01", "name": "申请书", "form": "原件", "copies": 1, "mandatory": True, "condition": None},
        {"code": "M02", "name": "项目申请书", "form": "原件", "copies": 1, "mandatory": True, "condition": None},
        {"code": "M03", "name": "授权委托书", "form": "原件", "copies": 1, "mandatory": False, "condition": "委托办理的"}],
    "statutory_days": 20, "fee": {"free": True, "standard": "不收费", "amount_yuan": None, "basis": None},
    "flow": "窗口受理→审查→决定", "joint_units": [], "higher_authority": None,
}


class Stand:
    """The five services as one handler; ``down`` names services that do not answer."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (method, path, claims)
        self.answers: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port
        service = {8101: "intake", 8102: "seal", 8103: "deadline", 8104: "notify", 8105: "attendance"}[port]
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        claims: dict[str, Any] = {}
        auth = request.headers.get("authorization")
        if auth:
            try:
                claims = jwt.decode(auth.split()[1], SECRET, algorithms=["HS256"], audience="onewindow")
            except jwt.PyJWTError:
                claims = {"token": auth.split()[1]}  # not one of ours (the OIDC provider's)
        self.calls.append((request.method, request.url.path, claims))
        custom = self.answers.get((request.method, request.url.path))
        if custom:
            return custom(request)
        path = request.url.path
        if path == "/intake/guide/units":
            return httpx.Response(200, json=[{"code": "FGJ", "name": "青山县发展和改革局", "window_numbers": ["01"], "items": 1}])
        if path == "/intake/guide/items":
            return httpx.Response(200, json=[{k: ITEM[k] for k in ("code", "name", "unit_code", "unit_name", "case_kind",
                                                                  "case_kind_label", "promised_days", "free")}])
        if path == "/intake/guide/items/FGJ-001":
            return httpx.Response(200, json=ITEM)
        if path == "/intake/applications":
            return httpx.Response(200, json=[])
        if path.startswith("/deadline/clocks"):
            return httpx.Response(200, json=[])
        if path == "/intake/joint-tasks":
            return httpx.Response(200, json=[])
        return httpx.Response(404, json={"status": 404, "detail": "没有这个地址"})


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Stand]]:
    stand = Stand()
    settings = ConsoleSettings(data_dir=tmp_path, auth_secret=SECRET, console_demo_accounts=True,
                               console_lockout_failures=3)
    svc = create_service(settings, transport=httpx.MockTransport(stand.handler))
    async with LifespanManager(svc.api):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://console") as client:
            yield client, stand


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has a form with a CSRF token"
    return m.group(1)


async def sign_in(client: httpx.AsyncClient, username: str = "clerk", password: str = "Chuangkou2026",
                  next_url: str = "/desk") -> httpx.Response:
    page = await client.get("/signin")
    return await client.post("/signin", data={"csrf": csrf_of(page.text), "username": username,
                                              "password": password, "next": next_url})


@pytest.mark.timeout(30)
async def test_sign_in_carries_the_persons_token_and_sign_out_ends_it(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    r = await sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    desk = await client.get("/desk")
    assert desk.status_code == 200 and "窗口工作台" in desk.text
    claims = [c for m, p, c in stand.calls if p == "/intake/applications"]
    assert claims and all(c["sub"] == "clerk" and c["role"] == "clerk" and c["unit"] == "FGJ" for c in claims)
    out = await client.post("/signout", data={"csrf": csrf_of(desk.text)})
    assert out.status_code == 303
    again = await client.get("/desk")
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")


@pytest.mark.timeout(30)
async def test_expired_session_goes_to_sign_in_and_back(console) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    r = await client.get("/desk/cases/2026-FGJ-00007")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/desk/cases/2026-FGJ-00007"
    page = await client.get(r.headers["location"])
    assert 'value="/desk/cases/2026-FGJ-00007"' in page.text
    back = await sign_in(client, next_url="/desk/cases/2026-FGJ-00007")
    assert back.headers["location"] == "/desk/cases/2026-FGJ-00007"
    client.cookies.clear()
    evil = await sign_in(client, next_url="https://evil.example/")
    assert evil.headers["location"] == "/desk"


@pytest.mark.timeout(30)
async def test_lockout_after_repeated_failures(console) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    for _ in range(3):
        r = await sign_in(client, password="wrong-password-1")
        assert r.status_code in (400, 423)
    locked = await sign_in(client)  # the right password, but locked now
    assert locked.status_code == 423 and "已暂时锁定" in locked.text
    other = await sign_in(client, "head", "Fuzeren2026")  # another account is not affected
    assert other.status_code == 303


@pytest.mark.timeout(30)
async def test_every_form_needs_its_csrf_token(console) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    await client.get("/signin")
    r = await client.post("/signin", data={"username": "clerk", "password": "Chuangkou2026"})
    assert r.status_code == 403 and "页面已过期" in r.text
    ok = await sign_in(client)
    assert ok.status_code == 303
    r = await client.post("/desk/new", data={"item_code": "FGJ-001", "csrf": "forged"})
    assert r.status_code == 403


@pytest.mark.timeout(30)
async def test_a_service_that_is_down_is_named_and_nothing_is_lost(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.down.add("intake")
    r = await client.get("/portal")
    assert r.status_code == 503
    assert "受理服务（intake）暂时无法访问" in r.text and "数据是安全的" in r.text
    assert "Traceback" not in r.text


@pytest.mark.timeout(30)
async def test_service_errors_next_to_their_fields_and_typed_values_kept(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("POST", "/intake/applications")] = lambda req: httpx.Response(
        422, headers={"content-type": "application/problem+json"},
        json={"status": 422, "title": "提交的信息有误", "detail": "手机号码无效",
              "errors": [{"field": "applicant.mobile", "reason": "手机号码应为11位中国大陆手机号"}]})
    await sign_in(client)
    form = await client.get("/desk/new?item=FGJ-001")
    assert "M01 申请书" in form.text
    r = await client.post("/desk/new", data={
        "csrf": csrf_of(form.text), "item_code": "FGJ-001", "applicant.type": "person", "applicant.name": "张三",
        "applicant.mobile": "12345678901", "applicant.resident_id": "110101199003071234", "materials": ["M01"],
        "channel": "window"})
    assert r.status_code == 422
    html = r.text
    assert "手机号码应为11位中国大陆手机号" in html
    field = html[html.index('id="f-applicant-mobile-error"'):]
    assert "手机号码应为11位中国大陆手机号" in field[:200]
    assert 'value="张三"' in html and 'value="12345678901"' in html
    assert re.search(r'value="M01"\s+checked', html)
    assert "application/problem+json" not in html and '"errors"' not in html
    posted = [c for m, p, c in stand.calls if m == "POST" and p == "/intake/applications"]
    assert posted and posted[0]["unit"] == "FGJ"


@pytest.mark.timeout(30)
async def test_another_units_case_is_a_clear_no_access_page(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("GET", "/intake/applications/2026-GAJ-00001")] = lambda req: httpx.Response(
        403, json={"status": 403, "title": "无权办理此事项", "detail": "只能查看本单位的案件"})
    await sign_in(client)
    r = await client.get("/desk/cases/2026-GAJ-00001")
    assert r.status_code == 403
    assert "无权访问" in r.text and "只能查看本单位的案件" in r.text and "Traceback" not in r.text


@pytest.mark.timeout(30)
async def test_portal_guide_and_elderly_mode_remembered(console) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    page = await client.get("/portal/items/FGJ-001")
    assert page.status_code == 200
    for words in ("审批依据", "申报材料", "办理程序", "收费标准及依据", "承诺时限", "企业投资项目核准"):
        assert words in page.text
    assert 'class="elderly"' not in page.text
    r = await client.post("/prefs/elderly", data={"csrf": csrf_of(page.text), "next": "/portal/items/FGJ-001"})
    assert r.status_code == 303 and "ow_elderly=1" in r.headers["set-cookie"]
    again = await client.get("/portal/items/FGJ-001")
    assert 'class="elderly"' in again.text


@pytest.mark.timeout(30)
async def test_hall_tiles_stand_alone(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.down.add("deadline")
    stand.answers[("GET", "/attendance/presence")] = lambda req: httpx.Response(200, json={
        "at": "2026-12-07T09:00:00+08:00", "open_count": 1, "staffed_count": 1, "windows": [
            {"window_no": "01", "unit_code": "FGJ", "unit_name": "青山县发展和改革局", "open_now": True,
             "opening": "08:30:00", "closing": "12:00:00", "weekday": True, "weekend_service": True,
             "post_a": {"staff_id": "s1", "name": "王小丽"}, "post_b": {"staff_id": "s2", "name": "李四"},
             "on_duty": {"staff_id": "s2", "name": "李四"}, "on_duty_post": "B", "arrived_at": None,
             "present": ["s2"], "on_leave": ["s1"]}]})
    stand.answers[("GET", "/intake/reports/today")] = lambda req: httpx.Response(200, json={
        "day": "2026-12-07", "units": [], "total": {"unit_code": "*", "unit_name": None, "received": 0,
                                                     "immediate_done": 0}})
    stand.answers[("GET", "/intake/reports/weekends")] = lambda req: httpx.Response(
        200, json={"weekends": [], "total": 0, "average_per_weekend": 0})
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/hall")
    assert r.status_code == 200
    assert "暂不可用" in r.text  # deadline's tiles
    assert "王小丽" in r.text and 'id="received-today">0<' in r.text
    assert "李四（B岗）" in r.text  # who is at the window now: the B post, the A post on leave
    # The hall reads counts, never case lists (no access-log reads of applicants' data).
    assert not [p for m, p, _ in stand.calls if p in ("/intake/applications", "/deadline/clocks")]
    client.cookies.clear()
    await sign_in(client)
    clerk = await client.get("/hall")
    assert clerk.status_code == 403  # a clerk's token would show one unit only: the hall is the center's


# ------------------------------------------------------------------------------ OpenID Connect


@pytest.mark.timeout(30)
async def test_oidc_sign_in_with_pkce_and_the_providers_token_carried(tmp_path: Path) -> None:
    import base64
    import hashlib
    from urllib.parse import parse_qs, urlsplit

    from contracts.common import Role
    from services.runtime.auth import Staff

    stand = Stand()
    seen: dict[str, Any] = {}
    provider_token = "provider-access-token"

    def provider(request: httpx.Request) -> httpx.Response | None:
        if request.url.host != "idp.example":
            return None
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": "https://idp.example", "authorization_endpoint":
                                             "https://idp.example/auth", "token_endpoint": "https://idp.example/token"})
        if request.url.path == "/token":
            form = parse_qs(request.content.decode())
            seen["token_form"] = form
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"][0].encode()).digest()).rstrip(b"=")
            if form["code"] != ["the-code"] or challenge.decode() != seen["challenge"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"access_token": provider_token, "token_type": "Bearer"})
        return httpx.Response(404)

    def handler(request: httpx.Request) -> httpx.Response:
        return provider(request) or stand.handler(request)

    stand.answers[("GET", "/intake/applications")] = lambda req: (
        seen.setdefault("intake_auth", req.headers.get("authorization")), httpx.Response(200, json=[]))[1]
    settings = ConsoleSettings(data_dir=tmp_path, auth_secret=SECRET, console_oidc_issuer="https://idp.example",
                               console_oidc_client_id="console", console_oidc_client_secret="s3cret")
    svc = create_service(settings, transport=httpx.MockTransport(handler))

    def verify(token: str) -> Staff:
        assert token == provider_token
        return Staff(sub="zhang.wei", name="张伟", role=Role.CLERK, unit="FGJ")

    svc.auth.verify = verify  # type: ignore[method-assign]  # the JWKS check is the runtime's, tested there
    async with LifespanManager(svc.api):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://console") as client:
            page = await client.get("/signin?next=/desk")
            assert "使用统一身份认证登录" in page.text
            go = await client.get("/signin/oidc?next=/desk/search")
            assert go.status_code == 303
            url = urlsplit(go.headers["location"])
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            assert url.netloc == "idp.example" and q["code_challenge_method"] == "S256" and q["client_id"] == "console"
            seen["challenge"] = q["code_challenge"]
            forged = await client.get("/signin/oidc/callback", params={"code": "the-code", "state": "not-the-state"})
            assert forged.status_code == 400 and "登录已过期或来源不明" in forged.text
            back = await client.get("/signin/oidc/callback", params={"code": "the-code", "state": q["state"]})
            assert back.status_code == 303 and back.headers["location"] == "/desk/search"
            assert seen["token_form"]["client_secret"] == ["s3cret"]
            desk = await client.get("/desk")
            assert desk.status_code == 200 and "张伟" in desk.text
            assert seen["intake_auth"] == f"Bearer {provider_token}"


@pytest.mark.timeout(30)
async def test_search_shows_applicants_masked_and_a_receipt_number_goes_to_the_case(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    row = {"receipt_no": "2026-FGJ-00003", "item_code": "FGJ-001", "item_name": "企业投资项目核准", "unit_code": "FGJ",
           "applicant": "张**", "applicant_type": "person", "masked_mobile": "138****5678",
           "masked_resident_id": "110***********123X", "status": "accepted", "status_label": "已受理，审查中",
           "six_kind": "promised", "received_at": "2026-12-07T02:00:00Z", "due_on": "2026-12-21"}
    stand.answers[("GET", "/intake/applicants")] = lambda req: httpx.Response(200, json=[row])
    await sign_in(client)
    found = await client.get("/desk/search", params={"q": "张三"})
    assert found.status_code == 200
    assert "2026-FGJ-00003" in found.text and "张**" in found.text and "138****5678" in found.text
    # intake searches (masked, on its access log); the console no longer lists cases to filter them.
    assert [p for m, p, _ in stand.calls if p.startswith("/intake/applica")] == ["/intake/applicants"]
    direct = await client.get("/desk/search", params={"q": " 2026-fgj-00003 "})
    assert direct.status_code == 303 and direct.headers["location"] == "/desk/cases/2026-FGJ-00003"


@pytest.mark.timeout(30)
async def test_consultation_refusal_next_to_its_field(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("GET", "/intake/consultations")] = lambda req: httpx.Response(200, json=[])
    posted: list[dict[str, Any]] = []

    def refuse(req: httpx.Request) -> httpx.Response:
        posted.append(json.loads(req.content))
        return httpx.Response(422, json={"status": 422, "detail": "x", "errors": [
            {"field": "referred_to_unit", "reason": "转交其他单位的咨询，请填写转交单位（首问负责人继续跟踪）"}]})

    stand.answers[("POST", "/intake/consultations")] = refuse
    await sign_in(client)
    page = await client.get("/desk/consultations")
    r = await client.post("/desk/consultations", data={"csrf": csrf_of(page.text), "channel": "phone",
                                                       "question": "营业执照怎么办？", "outcome": "referred"})
    assert r.status_code == 422
    assert posted == [{"channel": "phone", "question": "营业执照怎么办？", "outcome": "referred", "item_code": None,
                       "answer": None, "referred_to_unit": None}]
    err = r.text[r.text.index('id="f-referred_to_unit-error"'):][:300]
    assert "请填写转交单位" in err
    assert "营业执照怎么办？" in r.text  # kept


@pytest.mark.timeout(60)
async def test_many_sign_ins_at_once(tmp_path: Path) -> None:
    """Twenty clerks signing in together all get a session (the benchmark's start; the password
    checks run off the event loop and outside the database's write lock)."""
    import asyncio

    stand = Stand()
    svc = create_service(ConsoleSettings(data_dir=tmp_path, auth_secret=SECRET, console_demo_accounts=True),
                         transport=httpx.MockTransport(stand.handler))
    async with LifespanManager(svc.api):
        transport = httpx.ASGITransport(app=svc.api)
        clients = [httpx.AsyncClient(transport=transport, base_url="http://console") for _ in range(20)]
        try:
            answers = await asyncio.gather(*(sign_in(c) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
    assert [a.status_code for a in answers] == [303] * 20


@pytest.mark.timeout(60)
async def test_a_slow_part_is_marked_late_and_the_page_is_shown(tmp_path: Path) -> None:
    import asyncio
    import time as _time

    stand = Stand()
    case = {"receipt_no": "2026-FGJ-K7M3Q9XP", "unit_code": "FGJ", "unit_name": "青山县发展和改革局",
            "item": {"content": {"name": "企业投资项目核准", "materials": ITEM["materials"]}},
            "applicant": {"name": "张三", "mobile": "13812345678"}, "status": "accepted", "status_label": "已受理，审查中",
            "case_kind": "promised", "case_kind_label": "承诺件", "six_kind": "promised", "received_at": "2026-12-07T02:00:00Z",
            "timeline": [{"at": "2026-12-07T02:00:00Z", "label": "已收件"}], "joint_tasks": [], "requests": []}
    stand.answers[("GET", "/intake/applications/2026-FGJ-K7M3Q9XP")] = lambda req: httpx.Response(200, json=case)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 8104:  # notify: slow
            await asyncio.sleep(3)
            return httpx.Response(200, json={"total": 0, "items": []})
        return stand.handler(request)

    settings = ConsoleSettings(data_dir=tmp_path, auth_secret=SECRET, console_demo_accounts=True, console_part_seconds=0.3)
    svc = create_service(settings, transport=httpx.MockTransport(handler))
    async with LifespanManager(svc.api):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://console") as client:
            await sign_in(client)
            started = _time.perf_counter()
            r = await client.get("/desk/cases/2026-FGJ-K7M3Q9XP")
            took = _time.perf_counter() - started
    assert r.status_code == 200 and "已受理，审查中" in r.text
    assert "文书与短信服务（notify）回应较慢" in r.text
    assert took < 2.5
