"""``GET /intake/reports/today`` (counts only, not on the access log) and ``GET /intake/applicants``
(the applicant search: unit-scoped, masked, each search on the access log; bad input refused
naming the field)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from contracts.common import Role

from .service_helpers import client, clerk, file, intake_service, person, seed_catalog


async def _log(svc) -> list[dict]:  # type: ignore[no-untyped-def]
    async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
        r = await sup.get("/intake/access-log", params={"limit": 500})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.mark.timeout(60)
async def test_today_counts_per_unit_scoped_and_not_logged(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            # Yesterday: one case, not counted today.
            svc.clock.value -= timedelta(days=1)  # type: ignore[attr-defined]
            assert (await file(c)).status_code == 201
            svc.clock.value += timedelta(days=1)  # type: ignore[attr-defined]
            assert (await file(c)).status_code == 201
            r = await file(c, "immediate")
            assert r.status_code == 201, r.text
            no = r.json()["receipt_no"]
            r = await c.post(f"/intake/applications/{no}/decision", json={"outcome": "approved", "decision_text": "准予"})
            assert r.status_code == 200, r.text
        async with client(svc, Role.CLERK, "ZRJ", sub="C0003") as z:
            await z.post("/intake/consultations", json={})  # nothing: just another unit's clerk around
        before = len(await _log(svc))

        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            r = await sup.get("/intake/reports/today")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["day"] == "2024-06-03"
            lyj = next(u for u in body["units"] if u["unit_code"] == "LYJ")
            assert (lyj["received"], lyj["immediate_done"], lyj["unit_name"]) == (2, 1, "青山县林业局")
            assert body["total"] == {"unit_code": "*", "unit_name": None, "received": 2, "immediate_done": 1}
            assert "张" not in r.text and "138" not in r.text  # counts only
        async with client(svc, Role.CLERK, "ZRJ", sub="C0003") as z:
            mine = (await z.get("/intake/reports/today")).json()
            assert [(u["unit_code"], u["received"]) for u in mine["units"]] == [("ZRJ", 0)]
            r = await z.get("/intake/reports/today", params={"unit": "LYJ"})
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
            r = await z.get("/intake/reports/today", params={"unit": "X" * 40})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit"
        # Counting read nobody's data: the access log did not grow (the supervisor's log read aside).
        assert len(await _log(svc)) == before


@pytest.mark.timeout(60)
async def test_applicant_search_masked_scoped_and_logged(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            assert (await file(c)).status_code == 201  # 张三丰 11010519491231002X 13812345678
            r = await file(c, applicant=person(name="李四", resident_id="110105198001010024", mobile="13900001111"))
            assert r.status_code == 201, r.text
            # By name: masked, the full name nowhere in the answer.
            r = await c.get("/intake/applicants", params={"q": "张三"})
            assert r.status_code == 200, r.text
            (hit,) = r.json()
            assert hit["applicant"] == "张**" and hit["masked_mobile"] == "138****5678"
            assert "张三丰" not in r.text and "13812345678" not in r.text and "11010519491231002X" not in r.text
            # By a mobile or ID fragment (spaces and a lower-case x forgiven).
            assert [h["applicant"] for h in (await c.get("/intake/applicants", params={"q": "0000 1111"})).json()] == ["李*"]
            assert len((await c.get("/intake/applicants", params={"q": "1231002x"})).json()) == 1
            assert (await c.get("/intake/applicants", params={"q": "王五"})).json() == []
            # LIKE's wildcards are plain characters here.
            assert (await c.get("/intake/applicants", params={"q": "%%"})).json() == []
        # Another unit's clerk finds nothing of LYJ's, and may not ask for LYJ.
        async with client(svc, Role.CLERK, "ZRJ", sub="C0003") as z:
            assert (await z.get("/intake/applicants", params={"q": "张三"})).json() == []
            r = await z.get("/intake/applicants", params={"q": "张三", "unit": "LYJ"})
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            assert len((await sup.get("/intake/applicants", params={"q": "138"+"1234"})).json()) == 1
        # Each search is on the access log: who searched for what, how many found.
        searches = [e for e in await _log(svc) if e["receipt_no"] == "*"]
        mine = [e for e in searches if e["staff_id"] == "C0001"]
        assert len(mine) == 5 and any("q=张三 → 1" in e["action"] for e in mine)
        assert any(e["fields"] == ["search.applicant.id_or_mobile"] and "q=00001111" in e["action"] for e in mine)
        assert any(e["staff_id"] == "C0003" and e["staff_unit"] == "ZRJ" for e in searches)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("q, reason", [
    ("", "请输入"), ("   ", "请输入"), ("张", "至少输入2个字"), ("123", "至少输入4位"), ("a\x00b", "控制字符"),
    ("x" * 41, None),
])
async def test_applicant_search_bad_input_names_the_field(tmp_path: Path, q: str, reason: str | None) -> None:
    async with intake_service(tmp_path) as svc:
        async with clerk(svc) as c:
            r = await c.get("/intake/applicants", params={"q": q})
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            err = r.json()["errors"][0]
            assert err["field"] == "q"
            if reason:
                assert reason in err["reason"]
        async with client(svc, role=None) as anon:
            assert (await anon.get("/intake/applicants", params={"q": "张三"})).status_code == 401
            assert (await anon.get("/intake/reports/today")).status_code == 401


@pytest.mark.timeout(60)
async def test_a_masked_list_reads_no_personal_data_and_is_not_logged(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            assert (await file(c)).status_code == 201
            before = len(await _log(svc))
            r = await c.get("/intake/applications", params={"masked": "true"})
            assert r.status_code == 200 and [x["applicant"] for x in r.json()] == ["张**"]
            assert "张三丰" not in r.text
            assert len(await _log(svc)) == before  # nothing unmasked shown: nothing logged
            full = await c.get("/intake/applications")
            assert [x["applicant"] for x in full.json()] == ["张三丰"]
            assert len(await _log(svc)) == before + 1  # the full name was shown: on the log
