"""The public HTML pages: status lookup (办件查询) and the rating form the SMS links to (好差评)."""

from __future__ import annotations

import re
from pathlib import Path

from services.notify.config import NotifySettings
from tools.registry import DEFAULT_PORTS

from .service_helpers import clerk, file, page_client, intake_service, outbox, seed_catalog, types

STATUS = "/intake/public/status"
STATUS_SUBMIT = "/intake/public/status/page"


def ratings_url(no: str) -> str:
    return f"/intake/public/ratings/{no}"


async def _promised_case(svc, decide: bool = False) -> str:
    await seed_catalog(svc)
    async with clerk(svc) as c:
        no = (await file(c)).json()["receipt_no"]
        if decide:
            r = await c.post(f"/intake/applications/{no}/decision",
                             json={"outcome": "approved", "decision_text": "准予采伐，采伐量20立方米"})
            assert r.status_code == 200, r.text
    return no


def _html(r) -> str:
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    return r.text


async def test_status_form_renders_and_is_public(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc, page_client(svc) as pub:
        r = await pub.get(STATUS)
        body = _html(r)
        assert r.status_code == 200 and '<html lang="zh-CN">' in body
        assert f'action="{STATUS_SUBMIT}"' in body and 'name="receipt_no"' in body and 'name="mobile_last4"' in body
        assert "<script" not in body and r.headers["cache-control"] == "no-store"
        ops = svc.api.openapi()["paths"]
        for path, method in ((STATUS, "get"), (STATUS_SUBMIT, "post"), ("/intake/public/ratings/{receipt_no}", "get"),
                             ("/intake/public/ratings/{receipt_no}", "post")):
            assert ops[path][method].get("x-public") is True, (path, method)
        # The JSON API still answers on the same paths.
        r = await pub.post(STATUS, json={"receipt_no": "2024-LYJ-00001", "mobile_last4": "5678"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_correct_lookup_shows_status_timeline_and_due_date(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc)
        async with page_client(svc) as pub:
            r = await pub.post(STATUS_SUBMIT, data={"receipt_no": f" {no.lower()} ", "mobile_last4": "5678"})
            body = _html(r)
            json_view = (await pub.post(STATUS, json={"receipt_no": no, "mobile_last4": "5678"})).json()
        assert r.status_code == 200
        assert json_view["status_label"] in body and "已受理，审查中" in body
        assert json_view["due_on"] == "2024-06-11" and "2024年6月11日（星期二）" in body
        assert no in body and "林木采伐许可证核发" in body and "青山县林业局" in body
        for step in json_view["timeline"]:
            assert step["label"] in body
        # Personal data is masked, as in the JSON answer.
        assert "张**" in body and "张三丰" not in body and "13812345678" not in body
        assert "11010519491231002X" not in body
        assert "去评价" not in body  # not decided yet


async def test_decided_case_shows_result_and_links_to_the_rating_page(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc, decide=True)
        async with page_client(svc) as pub:
            body = _html(await pub.post(STATUS_SUBMIT, data={"receipt_no": no, "mobile_last4": "5678"}))
        assert "已办结" in body and "准予：准予采伐，采伐量20立方米" in body
        assert f'href="{ratings_url(no)}"' in body


async def test_wrong_pair_is_the_same_page_as_an_unknown_number(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc)
        unknown_no = "2024-LYJ-99999"
        async with page_client(svc) as pub:
            wrong = await pub.post(STATUS_SUBMIT, data={"receipt_no": no, "mobile_last4": "0000"})
            unknown = await pub.post(STATUS_SUBMIT, data={"receipt_no": unknown_no, "mobile_last4": "0000"})
        assert wrong.status_code == unknown.status_code == 404
        assert "未查询到该办件" in wrong.text
        # Only the number typed is given back, so the pages are equal once it is put aside.
        assert wrong.text.replace(no, "#") == unknown.text.replace(unknown_no, "#")
        assert "林木采伐" not in wrong.text and "张**" not in wrong.text


async def test_bad_input_is_told_on_the_page(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc, page_client(svc) as pub:
        r = await pub.post(STATUS_SUBMIT, data={"receipt_no": "", "mobile_last4": "5678"})
        assert r.status_code == 422 and "请填写受理编号" in _html(r)
        r = await pub.post(STATUS_SUBMIT, data={"receipt_no": "ABC", "mobile_last4": "5678"})
        assert r.status_code == 422 and "受理编号格式不正确" in r.text
        r = await pub.post(STATUS_SUBMIT, data={"receipt_no": "2024-LYJ-00001", "mobile_last4": "56a8"})
        assert r.status_code == 422 and "手机号码的后四位（4位数字）" in r.text


async def test_page_lookups_share_the_apis_rate_limit(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_lookup_rate_limit="3/minute") as svc:
        form = {"receipt_no": "2024-LYJ-00001", "mobile_last4": "1234"}
        async with page_client(svc, ip="10.1.1.1") as a, page_client(svc, ip="10.1.1.2") as b:
            assert (await a.post(STATUS, json=form)).status_code == 404  # the JSON API counts too
            codes = [(await a.post(STATUS_SUBMIT, data=form)).status_code for _ in range(3)]
            assert codes == [404, 404, 429]
            limited = await a.post(STATUS_SUBMIT, data=form)
            assert limited.status_code == 429 and "查询过于频繁" in _html(limited)
            assert int(limited.headers["retry-after"]) >= 1
            # Ratings through the page count against the same limit.
            r = await a.post(ratings_url("2024-LYJ-00001"), data={**form, "level": "satisfied"})
            assert r.status_code == 429
            assert (await b.post(STATUS_SUBMIT, data=form)).status_code == 404


async def test_rating_page_renders_the_five_levels(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc, page_client(svc) as pub:
        r = await pub.get(ratings_url("2024-lyj-00042"))
        body = _html(r)
        assert r.status_code == 200 and "2024-LYJ-00042" in body
        radio = r'<input type="radio" name="level" value="([a-z_]+)" required><span>([^<]+)</span>'
        labels = re.findall(radio, body)
        assert labels == [("very_satisfied", "非常满意"), ("satisfied", "满意"), ("basically_satisfied", "基本满意"),
                          ("dissatisfied", "不满意"), ("very_dissatisfied", "非常不满意")]
        assert 'action="/intake/public/ratings/2024-LYJ-00042"' in body and 'name="comment"' in body
        assert 'name="mobile_last4"' in body
        # The page says nothing about the case before the pair is given.
        assert "张" not in body and "林业局" not in body


async def test_rating_through_the_page_records_exactly_one_rating(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc, decide=True)
        async with page_client(svc) as pub:
            r = await pub.post(ratings_url(no), data={"level": "very_dissatisfied", "comment": "等待时间太长",
                                                      "mobile_last4": "5678"})
            body = _html(r)
            assert r.status_code == 201 and "感谢您的评价" in body and "非常不满意" in body
            assert "5 个工作日内" in body  # the low rating opened a rectification
            again = await pub.post(ratings_url(no), data={"level": "satisfied", "mobile_last4": "5678"})
            assert again.status_code == 409 and "只能评价一次" in _html(again)
            assert 'name="level"' not in again.text  # no form for a refused case
            status = await pub.post(STATUS_SUBMIT, data={"receipt_no": no, "mobile_last4": "5678"})
            assert "您已评价过本次服务" in status.text and "申请人评价：非常不满意" in status.text
        ratings = await outbox(svc, "intake.ratings")
        assert types(ratings) == ["RatingSubmitted", "RectificationOpened"]
        assert ratings[0].data.score == 1 and ratings[0].data.has_comment is True
        async with clerk(svc) as c:
            rects = (await c.get("/intake/rectifications")).json()
        assert len(rects) == 1 and rects[0]["comment"] == "等待时间太长"


async def test_rating_refusals_on_the_page(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc)  # accepted, not decided
        async with page_client(svc) as pub:
            r = await pub.post(ratings_url(no), data={"level": "satisfied", "mobile_last4": "5678"})
            assert r.status_code == 409 and "办结后才能评价" in _html(r)
            wrong = await pub.post(ratings_url(no), data={"level": "satisfied", "mobile_last4": "0000"})
            unknown = await pub.post(ratings_url("2024-LYJ-99999"), data={"level": "satisfied", "mobile_last4": "0000"})
            assert wrong.status_code == unknown.status_code == 404 and "未查询到该办件" in wrong.text
            assert wrong.text.replace(no, "#") == unknown.text.replace("2024-LYJ-99999", "#")
            r = await pub.post(ratings_url(no), data={"mobile_last4": "5678"})
            assert r.status_code == 422 and "请选择满意程度" in r.text
            r = await pub.post(ratings_url(no), data={"level": "excellent", "mobile_last4": "5678"})
            assert r.status_code == 422 and "请选择满意程度" in r.text
            r = await pub.post(ratings_url(no), data={"level": "satisfied", "comment": "好" * 501,
                                                      "mobile_last4": "5678"})
            assert r.status_code == 422 and "不能超过500字" in r.text
            # An input error keeps what was chosen, so the applicant only fixes the field at fault.
            r = await pub.post(ratings_url(no), data={"level": "basically_satisfied", "comment": "还行",
                                                      "mobile_last4": "12"})
            assert r.status_code == 422 and 'value="basically_satisfied" checked' in r.text
            assert ">还行</textarea>" in r.text
            r = await pub.get(ratings_url("not-a-number"))
            assert r.status_code == 404 and "链接中的受理编号不正确" in _html(r)
        assert await outbox(svc, "intake.ratings") == []


async def test_pages_escape_what_was_typed(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script>'
    async with intake_service(tmp_path) as svc:
        no = await _promised_case(svc, decide=True)
        async with page_client(svc) as pub:
            r = await pub.post(STATUS_SUBMIT, data={"receipt_no": '"><b>2024', "mobile_last4": "5678"})
            assert r.status_code == 422 and '"><b>' not in r.text and "&#34;&gt;&lt;b&gt;2024" in r.text
            r = await pub.get(ratings_url('<img src=x onerror="alert(1)">'))
            assert r.status_code == 404 and "<img" not in _html(r)
            assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in r.text
            r = await pub.post(ratings_url(no), data={"level": "satisfied", "comment": evil, "mobile_last4": "0000"})
            assert r.status_code == 404 and "<script>" not in r.text
            assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</textarea>" in r.text
            # A comment kept by the rating is never shown back on the public pages.
            r = await pub.post(ratings_url(no), data={"level": "satisfied", "comment": evil, "mobile_last4": "5678"})
            assert r.status_code == 201 and "<script>" not in r.text and "alert(" not in r.text
            status = await pub.post(STATUS_SUBMIT, data={"receipt_no": no, "mobile_last4": "5678"})
            assert "alert(" not in status.text
        assert types(await outbox(svc, "intake.ratings")) == ["RatingSubmitted"]


def test_notify_links_to_the_rating_page() -> None:
    """The SMS notify sends after a decision points at this page on intake's default port."""
    template = NotifySettings.model_fields["notify_rating_url_template"].default
    assert template == f"http://127.0.0.1:{DEFAULT_PORTS['intake']}" + ratings_url("{receipt_no}")
