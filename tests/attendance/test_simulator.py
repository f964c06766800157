"""The terminal simulator speaks the wire format (checked against a recording fake server)."""

from datetime import datetime

import httpx

from services.attendance.domain import iclock
from tools.terminal_simulator import Terminal, demo_script, replay


class FakeServer:
    """Answers like a server would and records what the terminal sent."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.fail_next_upload = False
        self.queue = [(7, iclock.user_update("1001", "张伟")), (8, iclock.reboot()), (9, "UNKNOWN THING")]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        sn = request.url.params["SN"]
        headers = {"Date": "Tue, 03 Jun 2025 00:30:00 GMT"}
        if request.url.path == "/iclock/cdata" and request.method == "GET":
            from datetime import timedelta
            return httpx.Response(200, text=iclock.format_options(sn, utc_offset=timedelta(hours=8)),
                                  headers=headers)
        if request.url.path == "/iclock/cdata":
            if self.fail_next_upload:
                self.fail_next_upload = False
                return httpx.Response(503, text="ERROR")
            return httpx.Response(200, text="OK", headers=headers)
        if request.url.path == "/iclock/getrequest":
            out, self.queue = self.queue, []
            return httpx.Response(200, text=iclock.format_commands(out), headers=headers)
        if request.url.path == "/iclock/devicecmd":
            return httpx.Response(200, text="OK", headers=headers)
        return httpx.Response(404)


async def test_terminal_wire_format_and_retries():
    server = FakeServer()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://center") as client:
        t = Terminal(client, "CQZ7232460012")
        opts = await t.handshake()
        assert opts["Realtime"] == "1"
        first = server.requests[0]
        assert first.url.params["options"] == "all" and first.url.params["pushver"] == "2.4.1"
        assert first.headers["user-agent"].startswith("iClock")

        t.punch("1001", datetime(2025, 6, 3, 8, 25, 11))
        t.punch("1002", datetime(2025, 6, 3, 8, 27, 3), status=0, verify=15)
        server.fail_next_upload = True
        resp = await t.flush()
        assert resp.status_code == 503 and len(t.pending) == 2  # kept for the next try
        resp = await t.flush()
        assert resp.text == "OK" and t.pending == []
        upload = server.requests[-1]
        assert upload.url.params["table"] == "ATTLOG" and upload.url.params["Stamp"] == "2"
        assert upload.content.decode() == ("1001\t2025-06-03 08:25:11\t0\t1\t0\t0\t0\n"
                                           "1002\t2025-06-03 08:27:03\t0\t15\t0\t0\t0\n")
        await t.resend()
        assert server.requests[-1].content == upload.content

        await t.upload_user("1001", "张伟")
        assert server.requests[-1].url.params["table"] == "OPERLOG"
        assert server.requests[-1].content.decode().startswith("USER PIN=1001\tName=张伟\t")

        done = await t.poll_and_run()
        assert [(i, code) for i, _, code in done] == [(7, 0), (8, 0), (9, -1002)]
        assert t.users["1001"] == "张伟"
        poll = next(r for r in server.requests if r.url.path == "/iclock/getrequest")
        assert iclock.parse_info(poll.url.params["INFO"])["users"] == "1"
        report = server.requests[-1]
        assert report.url.path == "/iclock/devicecmd"
        assert report.content.decode() == ("ID=7&Return=0&CMD=DATA\nID=8&Return=0&CMD=REBOOT\n"
                                           "ID=9&Return=-1002&CMD=UNKNOWN\n")
        assert await t.poll_and_run() == []


async def test_old_firmware_sends_gb2312():
    server = FakeServer()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://center") as client:
        t = Terminal(client, "OLD", charset="gb2312")
        await t.upload_user("7", "李四")
        assert "李四".encode("gb2312") in server.requests[-1].content


async def test_replay_script():
    server = FakeServer()
    lines: list[str] = []
    script = demo_script("SIM1", ["1001", "1002"], datetime(2025, 6, 3))
    async with httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://center") as client:
        term = await replay(client, script, echo=lines.append)
    paths = [(r.method, r.url.path) for r in server.requests]
    assert paths[0] == ("GET", "/iclock/cdata")
    # handshake, morning batch, its resend, noon batch, poll, devicecmd report
    assert paths.count(("POST", "/iclock/cdata")) == 3
    assert term.sn == "SIM1" and term.punches_total == 4
    assert lines[0].startswith("2: handshake") and "Date: Tue, 03 Jun 2025" in lines[0]
