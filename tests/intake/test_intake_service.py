"""The intake service on the in-memory broker: the HTTP API, problem+json, access, events."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from contracts.common import CaseKind, Role
from contracts.deadline import ClockStarted
from services.intake.store import CaseRow
from services.runtime.testing import publish

from .helpers import MONDAY, SATURDAY
from .service_helpers import clerk, client, file, intake_service, item_body, outbox, person, seed_catalog, types


async def test_catalog_admin_and_public_guide(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        async with clerk(svc) as c:
            r = await c.post("/intake/catalog/units", json={"code": "LYJ", "name": "林业局", "entered": True,
                                                            "entered_since": "2024-01-01"})
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        await seed_catalog(svc)
        assert types(await outbox(svc, "intake.units")).count("UnitRegistered") == 4
        published = [e.data for e in await outbox(svc, "intake.catalog")]
        assert [e.item_code for e in published] == ["LYJ-001", "LYJ-002", "LYJ-003", "LYJ-004"]
        assert published[0].unit_name == "青山县林业局"

        async with client(svc, role=None) as pub:
            units = (await pub.get("/intake/guide/units")).json()
            assert {u["code"]: u["items"] for u in units}["LYJ"] == 4
            found = (await pub.get("/intake/guide/items", params={"q": "林木 采伐", "unit": "LYJ"})).json()
            assert len(found) == 4 and found[0]["case_kind_label"] == "即办件"
            assert (await pub.get("/intake/guide/items", params={"q": "采矿"})).json() == []
            guide = (await pub.get("/intake/guide/items/LYJ-002")).json()
            assert guide["legal_basis"] == ["《中华人民共和国森林法》第五十六条"]
            assert guide["materials"][1]["form"] == "原件及复印件" and guide["promised_days"] == 5
            assert guide["unit_name"] == "青山县林业局"
            assert (await pub.get("/intake/guide/items/NOPE-001")).status_code == 404
            # catalog administration needs a token
            assert (await pub.get("/intake/catalog/items/LYJ-001")).status_code == 401

        async with client(svc) as admin:
            # an edit makes a draft; the guide keeps showing version 1 until it is published
            r = await admin.put("/intake/catalog/items/LYJ-002/draft",
                                json={k: v for k, v in item_body("LYJ-002", promised_days=3).items()
                                      if k not in ("code", "unit_code")})
            assert r.status_code == 200 and r.json()["draft_version"] == 2
            async with client(svc, role=None) as pub:
                assert (await pub.get("/intake/guide/items/LYJ-002")).json()["version"] == 1
            assert (await admin.post("/intake/catalog/items/LYJ-002/publish")).json()["current"] == 2
            # refusals name the field in words a clerk understands
            r = await admin.post("/intake/catalog/items", json=item_body("LYJ-009", promised_days=25))
            body = r.json()
            assert r.status_code == 422 and body["errors"][0]["field"] == "promised_days"
            assert "法定时限" in body["detail"]
            r = await admin.post("/intake/catalog/items/LYJ-004/retire", json={"reason": "职能调整"})
            assert r.status_code == 200 and r.json()["retired"] is True
        assert types(await outbox(svc, "intake.catalog"))[-2:] == ["ItemPublished", "ItemRetired"]


async def test_bad_identifiers_are_refused_at_the_door_and_nothing_is_written(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        before = len(await outbox(svc))
        async with clerk(svc) as c:
            r = await file(c, applicant=person(resident_id="110105194912310021"))
            assert r.status_code == 422
            assert r.json()["errors"][0] == {"field": "applicant.resident_id",
                                             "reason": "居民身份证号码校验位不正确，请核对是否输错"}
            r = await file(c, applicant=person(mobile="1381234567"))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant.mobile"
            r = await file(c, applicant={"type": "company", "name": "李四", "mobile": "13900001111",
                                         "company_name": "青山县绿源林业专业合作社", "credit_code": "91110000600037341M"})
            assert r.status_code == 422 and "校验位" in r.json()["detail"]
            r = await file(c, materials=("M01", "M77"))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "materials"
            r = await c.post("/intake/applications", json={"item_code": "LYJ-001"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant"
        async with svc.uow() as uow:
            assert (await uow.session.execute(select(func.count()).select_from(CaseRow))).scalar_one() == 0
        assert len(await outbox(svc)) == before
        # the refused attempts used no receipt number
        async with clerk(svc) as c:
            assert (await file(c)).json()["register_seq"] == 1


async def test_a_clerk_acts_only_for_their_own_unit(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc, "SCJ", "C0009") as other:
            r = await file(other)
            assert r.status_code == 403 and "本单位" in r.json()["detail"]
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
        async with clerk(svc, "SCJ", "C0009") as other:
            assert (await other.get(f"/intake/applications/{no}")).status_code == 403
            r = await other.post(f"/intake/applications/{no}/decision",
                                 json={"outcome": "approved", "decision_text": "准予"})
            assert r.status_code == 403
            assert (await other.get("/intake/applications", params={"unit": "LYJ"})).status_code == 403
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            assert (await sup.get(f"/intake/applications/{no}")).status_code == 200
            r = await sup.post(f"/intake/applications/{no}/decision", json={"outcome": "approved", "decision_text": "x"})
            assert r.status_code == 403


async def test_supplement_flow_public_lookup_and_rating(tmp_path: Path) -> None:
    async with intake_service(tmp_path, now=SATURDAY) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            case = (await file(c, materials=("M01",))).json()
            no = case["receipt_no"]
            assert case["status"] == "awaiting_supplement" and case["weekend"] is True
            assert [m["code"] for m in case["outstanding"]] == ["M02", "M03"]
            # a second notice for something the first did not list is refused (409), then overridden
            svc.clock.value = MONDAY + timedelta(days=7)
            r = await c.post(f"/intake/applications/{no}/supplements", json={"materials": ["M02", "M03"]})
            assert r.status_code == 200 and r.json()["status"] == "accepted"
            r = await c.post(f"/intake/applications/{no}/supplement-requests",
                             json={"materials": [{"name": "伐区现场照片", "reason": "核实采伐范围"}]})
            assert r.status_code == 409 and "一次性告知" in r.json()["detail"]
            r = await c.post(f"/intake/applications/{no}/supplement-overrides",
                             json={"materials": [{"name": "伐区现场照片"}], "reason": "现场核查需要"})
            assert r.status_code == 403
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            r = await sup.post(f"/intake/applications/{no}/supplement-overrides",
                               json={"materials": [{"name": "伐区现场照片"}], "reason": "现场核查发现界线不清"})
            assert r.status_code == 200, r.text
        async with clerk(svc) as c:
            r = await c.post(f"/intake/applications/{no}/supplement-requests",
                             json={"materials": [{"name": "伐区现场照片", "reason": "核实采伐范围"}]})
            assert r.status_code == 200 and r.json()["status"] == "supplement_in_review"
            await c.post(f"/intake/applications/{no}/supplements", json={"materials": ["X01"]})
            r = await c.post(f"/intake/applications/{no}/decision",
                             json={"outcome": "approved", "decision_text": "准予采伐，采伐量20立方米"})
            assert r.status_code == 200 and r.json()["six_kind"] == "supplement"
        evs = await outbox(svc, "intake.applications")
        assert types(evs) == ["ApplicationReceived", "SupplementRequested", "SupplementProvided", "ApplicationAccepted",
                              "SupplementOverrideRecorded", "SupplementRequested", "SupplementProvided",
                              "ApplicationDecided"]
        assert all(e.subject == no for e in evs)
        contact = (await outbox(svc, "intake.contacts"))[0].data
        assert contact.mobile == "13812345678" and contact.name == "张三丰"

        async with client(svc, role=None, ip="10.9.9.9") as pub:
            r = await pub.post("/intake/public/status", json={"receipt_no": no.lower(), "mobile_last4": "5678"})
            view = r.json()
            assert r.status_code == 200 and view["applicant"] == "张**" and view["status_label"] == "已办结"
            assert view["result"].startswith("准予") and "13812345678" not in r.text
            wrong = await pub.post("/intake/public/status", json={"receipt_no": no, "mobile_last4": "0000"})
            unknown = await pub.post("/intake/public/status", json={"receipt_no": "2024-LYJ-99999", "mobile_last4": "5678"})
            assert wrong.status_code == unknown.status_code == 404
            assert {k: v for k, v in wrong.json().items() if k != "instance"} == \
                   {k: v for k, v in unknown.json().items() if k != "instance"}
            # rate and see the rectification the low rating opens
            r = await pub.post("/intake/public/ratings", json={"receipt_no": no, "mobile_last4": "5678",
                                                               "level": "very_dissatisfied", "comment": "等待时间太长"})
            assert r.status_code == 201 and r.json()["rectification_opened"] is True
            r = await pub.post("/intake/public/ratings", json={"receipt_no": no, "mobile_last4": "5678",
                                                               "level": "satisfied"})
            assert r.status_code == 409
        ratings = [e.data for e in await outbox(svc, "intake.ratings")]
        assert types(await outbox(svc, "intake.ratings")) == ["RatingSubmitted", "RectificationOpened"]
        assert ratings[0].score == 1 and ratings[0].has_comment and "等待" not in ratings[0].model_dump_json()
        async with clerk(svc) as c:
            rects = (await c.get("/intake/rectifications")).json()
            assert len(rects) == 1 and rects[0]["comment"] == "等待时间太长" and rects[0]["level_label"] == "非常不满意"
            r = await c.post(f"/intake/rectifications/{rects[0]['rectification_id']}/close",
                             json={"response": "已优化现场勘查安排，压缩办理时间"})
            assert r.status_code == 200 and r.json()["status"] == "closed"
        async with clerk(svc, "SCJ", "C0009") as other:
            assert (await other.get("/intake/rectifications")).json() == []
        assert types(await outbox(svc, "intake.ratings"))[-1] == "RectificationClosed"


async def test_public_lookup_is_rate_limited_per_client(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_lookup_rate_limit="3/minute") as svc:
        body = {"receipt_no": "2024-LYJ-00001", "mobile_last4": "1234"}
        async with client(svc, role=None, ip="10.1.1.1") as a, client(svc, role=None, ip="10.1.1.2") as b:
            codes = [(await a.post("/intake/public/status", json=body)).status_code for _ in range(4)]
            assert codes == [404, 404, 404, 429]
            limited = await a.post("/intake/public/status", json=body)
            assert limited.json()["title"] == "请求过于频繁，请稍后再试" and int(limited.headers["retry-after"]) >= 1
            assert (await b.post("/intake/public/status", json=body)).status_code == 404  # another client


async def test_due_date_follows_the_deadline_service(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            case = (await file(c)).json()
        assert case["due_on"] == "2024-06-11"
        await publish(svc, ClockStarted(
            receipt_no=case["receipt_no"], unit_code="LYJ", item_code="LYJ-002", item_version=1,
            case_kind=CaseKind.PROMISED, accepted_at=MONDAY, promised_days=5, statutory_days=20,
            due_date=date(2024, 6, 12), statutory_due_date=date(2024, 7, 2), provisional=False, calendar_version=1))
        async with client(svc, role=None) as pub:
            r = await pub.post("/intake/public/status", json={"receipt_no": case["receipt_no"], "mobile_last4": "5678"})
            assert r.json()["due_on"] == "2024-06-12"


async def test_consultations_reports_and_metrics(tmp_path: Path) -> None:
    async with intake_service(tmp_path, now=SATURDAY, intake_inactivity_months=1) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            r = await c.post("/intake/consultations", json={"channel": "phone", "question": "采伐许可需要哪些材料",
                                                            "outcome": "guide_given", "item_code": "LYJ-002"})
            assert r.status_code == 201 and r.json()["staff_id"] == "C0001"
            r = await c.post("/intake/consultations", json={"channel": "window", "question": "x",
                                                            "outcome": "referred"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "referred_to_unit"
            await file(c, "immediate")
            await file(c, "promised", materials=("M01",))
            assert (await c.get("/intake/consultations/counts", params={"period": "2024-06"})).json() == \
                {"LYJ": {"phone": 1}}
            vol = (await c.get("/intake/reports/volume", params={"period": "2024-06"})).json()
            assert len(vol) == 1 and vol[0]["received"] == 2 and vol[0]["weekend_received"] == 2
            assert vol[0]["by_kind"]["immediate"] == 1 and vol[0]["by_kind"]["supplement"] == 1
            weekends = (await c.get("/intake/reports/weekends")).json()
            assert weekends == {"weekends": [{"saturday": "2024-06-08", "received": 2}], "total": 2,
                                "average_per_weekend": 2.0}
            assert (await c.post("/intake/reports/monthly", json={"period": "2024-06"})).status_code == 403
        assert types(await outbox(svc, "intake.consultations")) == ["ConsultationRecorded"]
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            r = await sup.post("/intake/reports/monthly", json={"period": "2024-06"})
            made = r.json()
            assert made["events"].count("UnitVolumeReported") == 4
            assert sorted(made["flagged"]) == ["RFB", "SCJ", "ZRJ"]  # no business since recorded in June
            again = (await sup.post("/intake/reports/monthly", json={"period": "2024-06"})).json()
            assert again["events"] == []
        from services.intake.workers import refresh_gauges
        await refresh_gauges(svc)
        async with client(svc, role=None) as pub:
            text = (await pub.get("/metrics")).text
        assert 'onewindow_intake_applications_received_total{kind="immediate",weekend="true"} 1.0' in text
        assert 'onewindow_intake_cases{kind="supplement",status="awaiting_supplement"} 1.0' in text
        assert "onewindow_intake_weekend_applications 2.0" in text


async def test_demo_catalog_loads_once_and_serves_the_guide(tmp_path: Path) -> None:
    from tools.demo import STAFF_ID, loader

    async with intake_service(tmp_path) as svc:
        async with client(svc, sub=STAFF_ID) as admin:
            assert await loader.load(admin) == (27, 246)
            assert await loader.load(admin) == (0, 0)
        assert types(await outbox(svc, "intake.catalog")).count("ItemPublished") == 246
        units_registered = await outbox(svc, "intake.units")
        assert len(units_registered) == 27
        assert {e.data.staff_id for e in units_registered + await outbox(svc, "intake.catalog")} == {STAFF_ID}
        async with client(svc, role=None) as pub:
            units = (await pub.get("/intake/guide/units")).json()
            assert len(units) == 27 and sum(u["items"] for u in units) == 246
            immediate = (await pub.get("/intake/guide/items", params={"kind": "immediate"})).json()
            assert len(immediate) == 139
            forestry = (await pub.get("/intake/guide/items", params={"q": "林木采伐"})).json()
            assert forestry[0]["unit_name"] == "青山县林业局"
        async with client(svc) as admin:
            fgj = next(u for u in (await admin.get("/intake/catalog/units")).json() if u["code"] == "FGJ")
            assert fgj == {"code": "FGJ", "name": "青山县发展和改革局", "window_numbers": ["01", "02"], "entered": True,
                           "entered_since": "2012-03-01", "registered_on": "2024-06-03"}
            item = (await admin.get("/intake/catalog/items/FGJ-001")).json()
            assert item["current"] == 1 and [v["version"] for v in item["versions"]] == [1]


async def test_the_demo_loader_finishes_a_cut_short_load_and_leaves_another_catalog_alone(tmp_path: Path) -> None:
    from tools import demo
    from tools.demo import loader

    async with intake_service(tmp_path) as svc:
        async with client(svc, sub=demo.STAFF_ID) as admin:
            # a run cut short: some units, one item created but not yet published
            first = demo.units()[0]
            assert (await admin.post("/intake/catalog/units", json=first)).status_code == 201
            item = next(i for i in demo.items() if i["unit_code"] == first["code"])
            assert (await admin.post("/intake/catalog/items", json=item)).status_code == 201
            assert await loader.load(admin) == (26, 246)
    async with intake_service(tmp_path / "other") as svc:
        await seed_catalog(svc)
        async with client(svc) as admin:
            assert await loader.load(admin) == (0, 0)


def test_onewindow_up_loads_the_demo_catalog_through_intakes_api(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from services.runtime.auth import Authenticator
    from services.runtime.settings import ServiceSettings
    from tools import supervisor
    from tools.demo import loader

    calls = []
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONEWINDOW_AUTH_SECRET", "demo-loader-secret-0123456789abcdef")
    monkeypatch.setattr(loader, "load_into", lambda url, token: calls.append((url, token)) or (27, 246))
    supervisor._load_demo_catalog(supervisor.Proc("intake", 18101, None, True))
    (url, token), = calls
    staff = Authenticator(ServiceSettings()).verify(token)
    assert url == "http://127.0.0.1:18101" and staff.sub == "demo-catalog" and staff.role is Role.CENTER_ADMIN
    monkeypatch.setenv("ONEWINDOW_INTAKE_DEMO_CATALOG", "0")
    supervisor._load_demo_catalog(supervisor.Proc("intake", 18101, None, True))
    assert len(calls) == 1


async def test_two_clerks_on_one_case_cannot_overwrite_each_other(tmp_path: Path) -> None:
    import pytest

    from contracts.intake import Outcome
    from services.runtime.errors import InvalidState
    from services.intake.store import Store

    from .helpers import CLERK

    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
        async with svc.uow() as first, svc.uow() as second:
            a, rev_a = await Store(first.session).case(no)
            b, rev_b = await Store(second.session).case(no)
            a.decide(CLERK, MONDAY, Outcome.APPROVED, "准予")
            await Store(first.session).save_case(a, rev_a)
            await first.commit()
            b.decide(CLERK, MONDAY, Outcome.DENIED, "不予")
            with pytest.raises(InvalidState) as exc:
                await Store(second.session).save_case(b, rev_b)
            assert "刷新" in exc.value.reason
        async with clerk(svc) as c:
            assert (await c.get(f"/intake/applications/{no}")).json()["outcome"] == "approved"
