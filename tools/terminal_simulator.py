"""A fingerprint-terminal simulator: replays ZKTeco ADMS ("iclock") push traffic over HTTP.

Usable from tests (hand it an ``httpx.AsyncClient``, e.g. on an ASGI transport) and as a
command against a running service::

    python -m tools.terminal_simulator demo --base-url http://localhost:8085 --sn CQZ7232460012 \\
        --pin 1001 --pin 1002
    python -m tools.terminal_simulator replay traffic.txt --base-url http://localhost:8085

A replay script has one step per line (``#`` starts a comment); fields are separated by
whitespace, a punch time is ``YYYY-MM-DD HH:MM:SS``::

    sn CQZ7232460012
    handshake
    punch 1001 2025-06-07 08:52:10 0 1      # PIN, time, status, verify: buffered
    flush                                   # POST the buffered punches (ATTLOG)
    resend                                  # POST the last batch again (a lost OK)
    user 1001 张三                           # OPERLOG USER record
    oplog 6 0 2025-06-07 08:00:01           # OPERLOG OPLOG record
    poll                                    # getrequest, run the commands, POST devicecmd
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from services.attendance.domain import iclock
from services.runtime import clock

USER_AGENT = "iClock Proxy/1.09"


@dataclass
class Exchange:
    """One request the terminal made and what it got back."""

    method: str
    path: str
    params: dict[str, str]
    body: str
    status: int
    answer: str
    date_header: str | None


@dataclass
class Terminal:
    """The terminal's side of the protocol: it keeps unsent punches until the server says OK,
    polls for commands and reports their results."""

    client: httpx.AsyncClient
    sn: str
    pushver: str = "2.4.1"
    language: str = "83"          # 83: Simplified Chinese
    charset: str = "utf-8"        # old Chinese firmware sends GB2312
    firmware: str = "Ver 6.60 Apr 28 2017"
    ip: str = "192.168.1.201"
    users: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    last_batch: list[str] = field(default_factory=list)
    stamp: int = 0
    op_stamp: int = 0
    clock: datetime | None = None
    executed: list[tuple[int, str, int]] = field(default_factory=list)
    history: list[Exchange] = field(default_factory=list)
    punches_total: int = 0

    # -- plumbing ----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, params: dict[str, str], body: str = "") -> httpx.Response:
        headers = {"User-Agent": USER_AGENT}
        content = None
        if method == "POST":
            headers["Content-Type"] = "text/plain"
            content = body.encode(self.charset)
        resp = await self.client.request(method, path, params=params, content=content, headers=headers)
        self.history.append(Exchange(method, path, dict(params), body, resp.status_code, resp.text,
                                     resp.headers.get("date")))
        return resp

    # -- handshake ---------------------------------------------------------------------------

    async def handshake(self) -> dict[str, str]:
        """``GET /iclock/cdata?SN=..&options=all``: read the server's options block."""
        resp = await self._call("GET", "/iclock/cdata",
                                {"SN": self.sn, "options": "all", "pushver": self.pushver,
                                 "language": self.language})
        resp.raise_for_status()
        sn, self.options = iclock.parse_options(resp.text)
        if sn != self.sn:
            raise RuntimeError(f"options block names {sn!r}, not {self.sn!r}")
        return self.options

    # -- uploads -----------------------------------------------------------------------------

    def punch(self, pin: str, when: datetime, status: int = 0, verify: int = 1, work_code: str = "0") -> None:
        """A person puts their finger on the reader: the record waits for the next upload."""
        self.pending.append(iclock.format_attlog_line(pin, when, status, verify, work_code))

    async def flush(self) -> httpx.Response | None:
        """Upload the waiting punches; they stay waiting unless the server answers OK."""
        if not self.pending:
            return None
        batch = list(self.pending)
        stamp = self.stamp + len(batch)
        resp = await self._post_attlog(batch, stamp)
        if resp.status_code == 200 and resp.text.startswith(iclock.OK):
            self.pending = self.pending[len(batch):]
            self.last_batch, self.stamp = batch, stamp
            self.punches_total += len(batch)
        return resp

    async def resend(self) -> httpx.Response | None:
        """Send the last acknowledged batch again, as a terminal does when the OK got lost."""
        if not self.last_batch:
            return None
        return await self._post_attlog(self.last_batch, self.stamp)

    async def _post_attlog(self, lines: list[str], stamp: int) -> httpx.Response:
        return await self._call("POST", "/iclock/cdata",
                                {"SN": self.sn, "table": "ATTLOG", "Stamp": str(stamp)},
                                "\n".join(lines) + "\n")

    async def post_raw_attlog(self, body: str) -> httpx.Response:
        """An upload exactly as given (odd lines, CRLF, ...)."""
        return await self._call("POST", "/iclock/cdata",
                                {"SN": self.sn, "table": "ATTLOG", "Stamp": str(self.stamp + 1)}, body)

    async def upload_operlog(self, lines: list[str]) -> httpx.Response:
        self.op_stamp += len(lines)
        return await self._call("POST", "/iclock/cdata",
                                {"SN": self.sn, "table": "OPERLOG", "OpStamp": str(self.op_stamp)},
                                "\n".join(lines) + "\n")

    async def upload_user(self, pin: str, name: str) -> httpx.Response:
        self.users[pin] = name
        return await self.upload_operlog([iclock.format_user_record(pin, name)])

    # -- commands ----------------------------------------------------------------------------

    def _info(self) -> str:
        return ",".join([self.firmware, str(len(self.users)), str(len(self.users)), str(self.punches_total),
                         self.ip, "10", "7", "12", "0", "111"])

    async def poll(self) -> list[tuple[int, str]]:
        """``GET /iclock/getrequest``: the heartbeat; returns the commands handed out."""
        resp = await self._call("GET", "/iclock/getrequest", {"SN": self.sn, "INFO": self._info()})
        resp.raise_for_status()
        return iclock.parse_commands(resp.text)

    def run(self, cmd_id: int, text: str) -> tuple[int, list[str]]:
        """Carry a command out on the simulated terminal: (return code, extra result lines)."""
        extra: list[str] = []
        if text.startswith("DATA UPDATE USERINFO "):
            kv = iclock.parse_kv_fields(text[len("DATA UPDATE USERINFO "):])
            self.users[kv["PIN"]] = kv.get("Name", "")
            code = 0
        elif text.startswith("DATA DELETE USERINFO "):
            kv = iclock.parse_kv_fields(text[len("DATA DELETE USERINFO "):])
            code = 0 if self.users.pop(kv.get("PIN", ""), None) is not None else -1
        elif text.startswith("SET OPTION "):
            key, _, value = text[len("SET OPTION "):].partition("=")
            if key == "DateTime":
                self.clock = iclock.decode_device_time(int(value))
            self.options[key] = value
            code = 0
        elif text == "INFO":
            extra = ["~DeviceName=ZKTeco K40", f"MAC=00:17:61:10:00:{len(self.users):02d}",
                     f"UserCount={len(self.users)}", f"TransactionCount={self.punches_total}",
                     f"FWVersion={self.firmware}", f"IPAddress={self.ip}"]
            code = 0
        elif text in ("REBOOT", "CHECK", "CLEAR LOG", "LOG"):
            code = 0
        else:
            code = -1002  # unsupported on this firmware
        self.executed.append((cmd_id, text, code))
        return code, extra

    async def report(self, results: list[tuple[int, int, str, list[str]]]) -> httpx.Response:
        """``POST /iclock/devicecmd`` with ``ID=..&Return=..&CMD=..`` per command."""
        lines: list[str] = []
        for cmd_id, code, cmd, extra in results:
            lines.append(iclock.format_devicecmd(cmd_id, code, cmd))
            lines.extend(extra)
        return await self._call("POST", "/iclock/devicecmd", {"SN": self.sn}, "\n".join(lines) + "\n")

    async def poll_and_run(self) -> list[tuple[int, str, int]]:
        commands = await self.poll()
        if not commands:
            return []
        results = []
        for cmd_id, text in commands:
            code, extra = self.run(cmd_id, text)
            results.append((cmd_id, code, iclock.command_name(text), extra))
        resp = await self.report(results)
        resp.raise_for_status()
        return [(cid, text, code) for (cid, text), (_, code, _, _) in zip(commands, results)]


# --- replay scripts -------------------------------------------------------------------------


def _time(date_part: str, time_part: str) -> datetime:
    return iclock.parse_time(f"{date_part} {time_part}")


async def replay(client: httpx.AsyncClient, script: str, sn: str = "SIM0000000001",
                 echo=print) -> Terminal:
    """Run a replay script (see the module doc) against the server behind ``client``."""
    term = Terminal(client, sn)
    for no, raw in enumerate(script.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        step, args = words[0].lower(), words[1:]
        if step == "sn":
            term = Terminal(client, args[0])
        elif step == "handshake":
            opts = await term.handshake()
            echo(f"{no}: handshake -> {len(opts)} options, Date: {term.history[-1].date_header}")
        elif step == "punch":
            status = int(args[3]) if len(args) > 3 else 0
            verify = int(args[4]) if len(args) > 4 else 1
            term.punch(args[0], _time(args[1], args[2]), status, verify)
        elif step == "flush":
            resp = await term.flush()
            echo(f"{no}: ATTLOG -> {resp.status_code if resp else '-'} {resp.text.strip() if resp else ''}")
        elif step == "resend":
            resp = await term.resend()
            echo(f"{no}: ATTLOG resend -> {resp.status_code if resp else '-'}")
        elif step == "user":
            resp = await term.upload_user(args[0], " ".join(args[1:]))
            echo(f"{no}: OPERLOG USER -> {resp.status_code} {resp.text.strip()}")
        elif step == "oplog":
            resp = await term.upload_operlog([iclock.format_oplog(int(args[0]), args[1], _time(args[2], args[3]))])
            echo(f"{no}: OPERLOG OPLOG -> {resp.status_code} {resp.text.strip()}")
        elif step == "poll":
            done = await term.poll_and_run()
            echo(f"{no}: getrequest -> {len(done)} command(s): " + "; ".join(f"{i}:{t} => {c}" for i, t, c in done))
        else:
            raise ValueError(f"line {no}: unknown step {step!r}")
    return term


def demo_script(sn: str, pins: list[str], day: datetime) -> str:
    """A day at the hall: handshake, morning punches (one batch resent), a user record, a poll."""
    d = day.strftime("%Y-%m-%d")
    lines = [f"sn {sn}", "handshake"]
    for i, pin in enumerate(pins):
        lines.append(f"punch {pin} {d} 08:{20 + i % 10:02d}:{(7 * i) % 60:02d} 0 1")
    lines += ["flush", "resend"]
    for i, pin in enumerate(pins):
        lines.append(f"punch {pin} {d} 12:0{i % 10}:{(11 * i) % 60:02d} 1 1")
    lines += ["flush", "poll"]
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - thin CLI around replay()
    import typer

    cli = typer.Typer(help="ZKTeco push-protocol terminal simulator (attendance service).")

    @cli.command("replay")
    def replay_cmd(script: Path, base_url: str = typer.Option("http://localhost:8085"),
                   sn: str = typer.Option("SIM0000000001")) -> None:
        """Replay a script of terminal traffic against BASE_URL."""
        async def go() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                await replay(client, script.read_text(encoding="utf-8"), sn)
        asyncio.run(go())

    @cli.command("demo")
    def demo_cmd(base_url: str = typer.Option("http://localhost:8085"),
                 sn: str = typer.Option("SIM0000000001"),
                 pin: list[str] = typer.Option(["1001"], help="PINs that punch (repeatable)."),
                 day: str = typer.Option("", help="YYYY-MM-DD; today if empty.")) -> None:
        """Handshake, a morning of punches with a resend, noon punches, a command poll."""
        when = datetime.strptime(day, "%Y-%m-%d") if day else clock.local_now().replace(tzinfo=None)
        text = demo_script(sn, pin, when)

        async def go() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                await replay(client, text, sn)
        asyncio.run(go())

    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
