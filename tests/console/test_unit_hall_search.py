"""The desk's applicant search against a stand-in intake: intake's refusal is shown next to the
search field in Chinese with what was typed kept; an item code lists that item's cases."""

from __future__ import annotations

import httpx
import pytest

from tests.console.test_console_unit import console, sign_in  # noqa: F401  (the fixture)


@pytest.mark.timeout(30)
async def test_a_refused_search_is_shown_next_to_the_field(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    seen: list[str] = []

    def refuse(req: httpx.Request) -> httpx.Response:
        seen.append(req.url.params["q"])
        return httpx.Response(422, headers={"content-type": "application/problem+json"}, json={
            "status": 422, "title": "提交的信息有误", "detail": "证件号码或手机号码请至少输入4位",
            "errors": [{"field": "q", "reason": "证件号码或手机号码请至少输入4位"}]})

    stand.answers[("GET", "/intake/applicants")] = refuse
    await sign_in(client)
    r = await client.get("/desk/search", params={"q": "123"})
    assert r.status_code == 422 and seen == ["123"]
    assert 'id="desk-search-error"' in r.text and "证件号码或手机号码请至少输入4位" in r.text
    assert 'value="123"' in r.text and 'aria-invalid="true"' in r.text
    assert "查询结果" not in r.text


@pytest.mark.timeout(30)
async def test_an_item_code_lists_its_cases_and_intake_away_names_it(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    await sign_in(client)
    r = await client.get("/desk/search", params={"q": "fgj-001"})
    assert r.status_code == 200 and "查询结果：0 件" in r.text
    assert ("GET", "/intake/applications") in [(m, p) for m, p, _ in stand.calls]
    stand.down.add("intake")
    away = await client.get("/desk/search", params={"q": "张三"})
    assert away.status_code == 503 and "受理" in away.text and "Traceback" not in away.text
