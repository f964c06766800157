"""The terminals' endpoints driven by the simulator, against the service on the in-memory broker."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from services.attendance import store
from services.attendance.domain import iclock
from tools.terminal_simulator import Terminal

from .service_fixture import SN, attendance_service, client, outbox, setup_center


@pytest.fixture
async def svc(tmp_path):
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


async def _punch_count(svc) -> int:
    async with svc.uow() as uow:
        return (await uow.session.execute(select(func.count()).select_from(store.Punch))).scalar_one()


async def test_handshake_answers_the_options_block_with_a_date_header(svc):
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        opts = await t.handshake()
    assert opts["TimeZone"] == "8" and opts["ATTLOGStamp"] == "None" and opts["Realtime"] == "1"
    ex = t.history[-1]
    assert ex.answer.startswith(f"GET OPTION FROM: {SN}\n")
    sent = parsedate_to_datetime(ex.date_header)
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1) and ex.date_header.endswith("GMT")


async def test_unknown_serial_number_is_refused_and_listed(svc):
    async with client(svc, role=None) as c:
        r = await c.get("/iclock/cdata", params={"SN": "ROGUE0001", "options": "all"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/plain")
        r = await c.post("/iclock/cdata", params={"SN": "ROGUE0001", "table": "ATTLOG"},
                         content="1001\t2025-06-03 08:25:11\t0\t1\n")
        assert r.status_code == 403
        assert (await c.get("/iclock/cdata", params={"options": "all"})).status_code == 400
    assert await _punch_count(svc) == 0
    async with client(svc) as admin:
        unknown = (await admin.get("/attendance/devices-unknown")).json()
    assert [(u["sn"], u["attempts"]) for u in unknown] == [("ROGUE0001", 2)]


async def test_attlog_upload_resends_are_stored_once_and_published_once(svc):
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        await t.handshake()
        t.punch("1001", datetime(2025, 6, 3, 8, 25, 11))
        t.punch("1002", datetime(2025, 6, 3, 8, 27, 3), verify=15)
        t.punch("7777", datetime(2025, 6, 3, 8, 28, 0))  # a PIN nobody holds yet
        assert (await t.flush()).text == "OK"
        assert (await t.resend()).text == "OK"
        assert (await t.resend()).text == "OK"
        # Odd lines in the same upload do not spoil the good ones.
        r = await t.post_raw_attlog("1003\t2025-06-03 08:29:00\t0\t1\r\nnonsense\r\n\r\n1001\t2025-06-03 08:25:11\r\n")
        assert r.status_code == 200 and r.text == "OK"
    assert await _punch_count(svc) == 4
    punches = await outbox(svc, "attendance.punches")
    assert [k for _, k, _ in punches] == ["S01", "S02", "S03"]  # 7777 is stored, not published
    async with svc.uow() as uow:
        device = await uow.session.get(store.Device, SN)
        face = (await uow.session.execute(select(store.Punch).where(store.Punch.pin == "1002"))).scalar_one()
    assert device.attlog_stamp == "4"  # the last Stamp the terminal sent
    assert store.aware(face.punched_at) == datetime(2025, 6, 3, 0, 27, 3, tzinfo=UTC)  # read in Asia/Shanghai
    assert b'"verify":"face"' in punches[1][2]

    # A PIN handed out later takes the punches that waited for it.
    async with client(svc) as admin:
        r = await admin.put("/attendance/staff/S10", json={"name": "孙丽", "unit_code": "FGJ",
                                                           "unit_name": "发展和改革局", "window_no": "01",
                                                           "pin": "7777"})
        assert r.status_code == 200
    async with svc.uow() as uow:
        p = (await uow.session.execute(select(store.Punch).where(store.Punch.pin == "7777"))).scalar_one()
    assert p.staff_id == "S10"


async def test_a_failure_to_store_answers_an_error_and_the_terminal_resends(svc, monkeypatch):
    async def broken(*_a, **_k):
        raise OSError("disk full")

    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        t.punch("1001", datetime(2025, 6, 4, 8, 20))
        monkeypatch.setattr(store, "insert_punches", broken)
        r = await t.flush()
        assert r.status_code == 503 and t.pending  # kept on the terminal
        monkeypatch.undo()
        r = await t.flush()
        assert r.text == "OK" and not t.pending
    assert await _punch_count(svc) == 1


async def test_operlog_user_records_are_kept_and_templates_are_not(svc):
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        r = await t.upload_operlog([iclock.format_user_record("1001", "张伟"),
                                    "FP PIN=1001\tFID=6\tSize=4\tValid=1\tTMP=AAAA",
                                    iclock.format_oplog(6, "0", datetime(2025, 6, 3, 8))])
        assert r.text == "OK"
        r = await c.post("/iclock/cdata", params={"SN": SN, "table": "ATTPHOTO"}, content=b"\x00\x01")
        assert r.text == "OK"  # other tables are accepted and not kept
    async with svc.uow() as uow:
        users = (await uow.session.execute(select(store.DeviceUser))).scalars().all()
        ops = (await uow.session.execute(select(store.OperationLog))).scalars().all()
        device = await uow.session.get(store.Device, SN)
    assert [(u.pin, u.name) for u in users] == [("1001", "张伟")]
    assert [o.op for o in ops] == [6] and device.operlog_stamp == "3"


async def test_command_queue_polling_and_results(svc):
    # Registering staff with PINs queued a user update per person on the terminal.
    async with client(svc) as admin:
        r = await admin.post(f"/attendance/devices/{SN}/commands", json={"kind": "reboot"})
        assert r.status_code == 201
        reboot_id = r.json()["id"]
        r = await admin.post(f"/attendance/devices/{SN}/commands", json={"kind": "set_option", "option": "Bad Key",
                                                                         "value": "1"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "option"
        r = await admin.post(f"/attendance/devices/{SN}/commands", json={"kind": "time_sync"})
        assert r.json()["text"].startswith("SET OPTION DateTime=")
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        first = await t.poll_and_run()
        second = await t.poll_and_run()
        assert await t.poll_and_run() == []
    done = first + second
    assert len(first) == 10  # attendance_commands_per_poll
    assert sorted(t.users) == sorted(s for s in ("1001", "1002", "1003", "1004", "1005", "1006", "1007",
                                                 "1008", "1009"))
    assert t.users["1003"] == "李娜" and t.clock is not None
    assert any(cid == reboot_id and text == "REBOOT" and code == 0 for cid, text, code in done)
    async with client(svc) as admin:
        cmds = (await admin.get(f"/attendance/devices/{SN}/commands")).json()
    assert {c["status"] for c in cmds} == {"succeeded"} and len(cmds) == 11
    assert all(c["return_code"] == 0 and c["done_at"] for c in cmds)


async def test_lost_poll_answer_hands_the_command_out_again(tmp_path):
    async with attendance_service(tmp_path, attendance_command_resend_seconds=0.001) as svc:
        await setup_center(svc)
        async with client(svc, role=None) as c:
            t = Terminal(c, SN)
            handed = await t.poll()  # the answer is "lost": nothing is run or reported
            again = await t.poll()
        assert [i for i, _ in again[:3]] == [i for i, _ in handed[:3]]


async def test_results_for_someone_elses_command_are_ignored(svc):
    async with client(svc) as admin:
        await admin.put("/attendance/devices/OTHER0001", json={"sn": "OTHER0001"})
        r = await admin.post("/attendance/devices/OTHER0001/commands", json={"kind": "info"})
        other_id = r.json()["id"]
    async with client(svc, role=None) as c:
        r = await c.post("/iclock/devicecmd", params={"SN": SN}, content=f"ID={other_id}&Return=0&CMD=INFO\n")
        assert r.text == "OK"
    async with client(svc) as admin:
        cmds = (await admin.get("/attendance/devices/OTHER0001/commands")).json()
    assert cmds[0]["status"] == "queued"


async def test_terminal_routes_need_no_token_but_staff_routes_do(svc):
    async with client(svc, role=None) as c:
        assert (await c.get("/iclock/getrequest", params={"SN": SN})).status_code == 200
        r = await c.get("/attendance/devices")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
