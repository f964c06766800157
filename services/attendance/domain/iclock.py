"""The ZKTeco ADMS ("iclock") push protocol: pure parsing and formatting, no I/O.

A terminal talks plain HTTP to the server:

- ``GET  /iclock/cdata?SN=<sn>&options=all[&pushver=..&language=..]`` -> the options block;
- ``POST /iclock/cdata?SN=<sn>&table=ATTLOG&Stamp=<n>``   -> punches, one per line;
- ``POST /iclock/cdata?SN=<sn>&table=OPERLOG&OpStamp=<n>`` -> OPLOG / USER / FP ... records;
- ``GET  /iclock/getrequest?SN=<sn>[&INFO=..]``            -> "OK" or queued ``C:<id>:<cmd>`` lines;
- ``POST /iclock/devicecmd?SN=<sn>``                        -> ``ID=..&Return=..&CMD=..`` results.

Lines end in LF (terminals also send CRLF); fields are separated by TAB. Terminal times carry no
zone: the caller reads them in the device's zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl

LF = "\n"
HT = "\t"
OK = "OK"

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_PIN = re.compile(r"^[A-Za-z0-9]{1,24}$")
_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_INT = re.compile(r"[+-]?[0-9]+")
#: The numbers of a record land in INTEGER columns (PostgreSQL: 32 bits): a number outside makes
#: the line a bad one, never the whole upload a failure the terminal would resend for ever.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


# --- encoding -------------------------------------------------------------------------------


def decode_body(data: bytes) -> str:
    """Terminal bodies are UTF-8 on recent firmware and GB2312/GBK on older Chinese firmware
    (user names); GB18030 is a superset of both."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def split_lines(text: str) -> list[str]:
    """Lines of a body, CR stripped; blank lines kept out but counted by the callers' numbering."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_time(value: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (the terminal format), naive. Raises ValueError."""
    m = _TIME.match(value.strip())
    if not m:
        raise ValueError(f"not a terminal time: {value!r}")
    y, mo, d, h, mi, s = m.groups()
    value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    if not date.min < value.date() < date.max:
        # Read in the device's zone it would fall off the calendar (and it is a wrong clock anyway).
        raise ValueError(f"terminal time out of range: {value!r}")
    return value


def parse_int(value: str) -> int:
    """A protocol number (ASCII digits, in the INTEGER columns' range). Raises ValueError."""
    text = value.strip()
    if not _INT.fullmatch(text):
        raise ValueError(f"not an integer: {value[:40]!r}")
    # Too many digits is out of range without int() (slow for thousands of digits, then refused).
    number = int(text) if len(text.lstrip("+-").lstrip("0")) <= 10 else None
    if number is None or not INT_MIN <= number <= INT_MAX:
        raise ValueError(f"integer out of range: {text[:40]!r}")
    return number


def format_time(value: datetime) -> str:
    return value.strftime(TIME_FORMAT)


# --- the options block (handshake) ----------------------------------------------------------

#: Tables a v2 terminal should push, in the TransFlag words of the protocol.
TRANS_FLAG_WORDS = ("TransData", "AttLog", "OpLog", "EnrollUser", "ChgUser", "EnrollFP", "ChgFP")
#: The same for firmware older than push 2.0, as a bit string (AttLog, OpLog, AttPhoto, EnrollUser, ...).
TRANS_FLAG_LEGACY = "1111000000"


@dataclass(frozen=True)
class PushOptions:
    """Values the server hands the terminal at the handshake."""

    error_delay: int = 30          # seconds to wait after a failed connection
    delay: int = 10                # seconds between getrequest polls (heartbeat)
    trans_times: tuple[str, ...] = ("00:00", "14:05")  # daily times to push whatever is pending
    trans_interval: int = 1        # minutes between checks for new data to push
    realtime: bool = True          # push each punch as it happens
    encrypt: bool = False
    server_version: str = "2.4.1"
    push_protocol_version: str = "2.4.1"


def push_version(value: str | None) -> tuple[int, ...]:
    """``pushver`` query value as a comparable tuple; absent means an old (1.x) terminal."""
    if not value:
        return (1, 0)
    parts = re.findall(r"[0-9]{1,9}", value)  # bounded: a 5000-digit "version" is no reason to fail
    return tuple(int(p) for p in parts[:3]) or (1, 0)


def timezone_value(offset: timedelta) -> str:
    """``TimeZone=`` value: whole hours (``8``); a zone with minutes is sent in minutes (``330``),
    as terminals truncate fractional hours."""
    minutes = int(offset.total_seconds() // 60)
    if minutes % 60 == 0:
        return str(minutes // 60)
    return str(minutes)


def _stamp(value: str | int | None) -> str:
    if value is None or str(value).strip() in ("", "0", "None"):
        return "None"
    return str(value).strip()


def format_options(
    sn: str,
    *,
    utc_offset: timedelta,
    attlog_stamp: str | int | None = None,
    operlog_stamp: str | int | None = None,
    attphoto_stamp: str | int | None = None,
    options: PushOptions = PushOptions(),
    pushver: str | None = None,
) -> str:
    """The answer to ``GET /iclock/cdata?SN=..&options=all``: one ``Key=Value`` per line, after the
    ``GET OPTION FROM: <SN>`` line. A stamp of ``None`` asks the terminal for everything it holds."""
    v2 = push_version(pushver) >= (2, 0)
    # v2 words: "TransData" then a space, the table words tab-separated; older firmware wants bits.
    trans_flag = (TRANS_FLAG_WORDS[0] + " " + HT.join(TRANS_FLAG_WORDS[1:])) if v2 else TRANS_FLAG_LEGACY
    lines = [
        f"GET OPTION FROM: {sn}",
        f"ATTLOGStamp={_stamp(attlog_stamp)}",
        f"OPERLOGStamp={_stamp(operlog_stamp)}",
        f"ATTPHOTOStamp={_stamp(attphoto_stamp)}",
        f"ErrorDelay={options.error_delay}",
        f"Delay={options.delay}",
        f"TransTimes={';'.join(options.trans_times)}",
        f"TransInterval={options.trans_interval}",
        f"TransFlag={trans_flag}",
        f"TimeZone={timezone_value(utc_offset)}",
        f"Realtime={1 if options.realtime else 0}",
        f"Encrypt={1 if options.encrypt else 'None'}",
        f"ServerVer={options.server_version}",
    ]
    if v2:
        lines.append(f"PushProtVer={options.push_protocol_version}")
    return LF.join(lines) + LF


def parse_options(text: str) -> tuple[str, dict[str, str]]:
    """Read an options block back (the simulator's side): the SN and the options."""
    sn = ""
    values: dict[str, str] = {}
    for line in split_lines(text):
        if not line.strip():
            continue
        if line.startswith("GET OPTION FROM:"):
            sn = line.split(":", 1)[1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value
    return sn, values


# --- ATTLOG ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttLogRecord:
    """One punch: ``PIN  time  status  verify  workcode  reserved...`` (tab separated)."""

    pin: str
    time: datetime          # naive: the terminal's wall clock
    status: int = 0         # 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4/5 overtime in/out
    verify: int = 1         # 0 password, 1 fingerprint, 2 card, 15 face, ...
    work_code: str = ""
    extra: tuple[str, ...] = ()
    line_no: int = 0


@dataclass(frozen=True)
class LineError:
    line_no: int
    line: str
    reason: str


@dataclass
class ParseResult:
    records: list = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def _int_field(fields: Sequence[str], index: int, default: int) -> int:
    if index >= len(fields) or fields[index].strip() == "":
        return default
    return parse_int(fields[index])


def parse_attlog_line(line: str, line_no: int = 0) -> AttLogRecord:
    """Parse by position; missing trailing fields take defaults, extra ones are kept. Raises
    ValueError naming what is wrong."""
    fields = line.split(HT)
    if len(fields) < 2:
        # A few firmwares pad with spaces instead of tabs; only accept that when unambiguous.
        parts = line.split()
        if len(parts) >= 3 and _TIME.match(f"{parts[1]} {parts[2]}"):
            fields = [parts[0], f"{parts[1]} {parts[2]}", *parts[3:]]
        else:
            raise ValueError("expected PIN<TAB>time")
    pin = fields[0].strip()
    if not _PIN.match(pin):
        raise ValueError(f"bad PIN {pin!r}")
    when = parse_time(fields[1])
    try:
        status = _int_field(fields, 2, 0)
        verify = _int_field(fields, 3, 1)
    except ValueError:
        raise ValueError("status and verify must be integers") from None
    work_code = fields[4].strip() if len(fields) > 4 else ""
    extra = tuple(f.strip() for f in fields[5:])
    return AttLogRecord(pin, when, status, verify, work_code, extra, line_no)


def parse_attlog(body: str) -> ParseResult:
    """All punches of an ATTLOG upload; a bad line is reported and the others still count."""
    result = ParseResult()
    for no, line in enumerate(split_lines(body), start=1):
        if not line.strip():
            continue
        try:
            result.records.append(parse_attlog_line(line, no))
        except ValueError as exc:
            result.errors.append(LineError(no, line, str(exc)))
    return result


def format_attlog_line(pin: str, when: datetime, status: int = 0, verify: int = 1,
                       work_code: str = "0", reserved: Sequence[str] = ("0", "0")) -> str:
    return HT.join([pin, format_time(when), str(status), str(verify), work_code, *reserved])


# --- OPERLOG --------------------------------------------------------------------------------

#: OPLOG operation codes worth a name in the logs.
OPLOG_LABELS = {
    0: "power on",
    1: "power off",
    2: "verification failed",
    3: "alarm",
    4: "menu entered",
    5: "settings changed",
    6: "fingerprint enrolled",
    7: "password enrolled",
    8: "card enrolled",
    9: "user deleted",
    10: "fingerprint deleted",
    11: "password deleted",
    12: "card deleted",
    13: "all data cleared",
    30: "user added",
}


@dataclass(frozen=True)
class OpLogRecord:
    """``OPLOG op<TAB>admin<TAB>time<TAB>value1<TAB>value2<TAB>value3<TAB>reserved``."""

    op: int
    admin: str
    time: datetime
    values: tuple[str, ...] = ()
    line_no: int = 0

    @property
    def label(self) -> str:
        return OPLOG_LABELS.get(self.op, f"operation {self.op}")


@dataclass(frozen=True)
class UserRecord:
    """``USER PIN=..<TAB>Name=..<TAB>Pri=..<TAB>Passwd=..<TAB>Card=..<TAB>Grp=..<TAB>TZ=..``."""

    pin: str
    name: str = ""
    privilege: int = 0
    card: str = ""
    group: str = ""
    line_no: int = 0


@dataclass(frozen=True)
class OtherRecord:
    """FP, FACE, USERPIC, BIOPHOTO, ...: noted by kind and PIN only. Biometric templates are
    deliberately not kept (personal biometric data the center has no use for)."""

    kind: str
    pin: str
    line_no: int = 0


def parse_kv_fields(text: str) -> dict[str, str]:
    """``Key=Value`` pairs separated by tabs; a value may itself contain ``=`` (base64)."""
    out: dict[str, str] = {}
    for part in text.split(HT):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def parse_operlog(body: str) -> ParseResult:
    result = ParseResult()
    for no, line in enumerate(split_lines(body), start=1):
        if not line.strip():
            continue
        head, _, rest = line.strip().partition(" ")
        head = head.upper()
        try:
            if head == "OPLOG":
                fields = rest.split(HT)
                if len(fields) < 3:
                    raise ValueError("OPLOG needs op, admin and time")
                result.records.append(
                    OpLogRecord(parse_int(fields[0]), fields[1].strip(), parse_time(fields[2]),
                                tuple(f.strip() for f in fields[3:]), no)
                )
            elif head == "USER":
                kv = parse_kv_fields(rest)
                pin = kv.get("PIN", kv.get("Pin", ""))
                if not _PIN.match(pin):
                    raise ValueError(f"bad PIN {pin!r}")
                pri = kv.get("Pri", "0") or "0"
                result.records.append(
                    UserRecord(pin, kv.get("Name", ""), parse_int(pri), kv.get("Card", ""), kv.get("Grp", ""), no)
                )
            elif head and rest:
                kv = parse_kv_fields(rest)
                pin = kv.get("PIN", kv.get("Pin", ""))
                result.records.append(OtherRecord(head, pin, no))
            else:
                raise ValueError("not an OPERLOG record")
        except ValueError as exc:
            result.errors.append(LineError(no, line, str(exc)))
    return result


def format_user_record(pin: str, name: str, privilege: int = 0, card: str = "", group: str = "1") -> str:
    fields = [f"PIN={pin}", f"Name={name}", f"Pri={privilege}", "Passwd=", f"Card={card}",
              f"Grp={group}", "TZ=0000000100000000", "Verify=0"]
    return "USER " + HT.join(fields)


def format_oplog(op: int, admin: str, when: datetime, values: Sequence[str] = ("0", "0", "0", "0")) -> str:
    return "OPLOG " + HT.join([str(op), admin, format_time(when), *values])


# --- the command queue (getrequest) ---------------------------------------------------------


def clean_value(value: str, limit: int | None = None) -> str:
    """A tab or line break inside a value would split the command into the wrong fields."""
    cleaned = re.sub(r"[\t\r\n]+", " ", value).strip()
    return cleaned[:limit] if limit else cleaned


def user_update(pin: str, name: str, *, privilege: int = 0, card: str = "", group: int = 1) -> str:
    """Put a staff member on the terminal (or rename them). Names are cut to 24 characters, the
    terminals' limit."""
    if not _PIN.match(pin):
        raise ValueError(f"bad PIN {pin!r}")
    fields = [
        f"PIN={pin}", f"Name={clean_value(name, 24)}", f"Pri={privilege}", "Passwd=",
        f"Card={clean_value(card)}", f"Grp={group}", "TZ=0000000100000000", "Verify=0", "ViceCard=",
    ]
    return "DATA UPDATE USERINFO " + HT.join(fields)


def user_delete(pin: str) -> str:
    if not _PIN.match(pin):
        raise ValueError(f"bad PIN {pin!r}")
    return f"DATA DELETE USERINFO PIN={pin}"


def reboot() -> str:
    return "REBOOT"


def info() -> str:
    return "INFO"


def check() -> str:
    """Ask the terminal to compare stamps and push what the server lacks."""
    return "CHECK"


def clear_log() -> str:
    return "CLEAR LOG"


def set_option(key: str, value: str | int) -> str:
    if not re.match(r"^[A-Za-z0-9_~]+$", key):
        raise ValueError(f"bad option name {key!r}")
    return f"SET OPTION {key}={clean_value(str(value))}"


def query_attlog(start: datetime, end: datetime) -> str:
    """Ask for the punches of a time range again (after a loss on the server side)."""
    return f"DATA QUERY ATTLOG StartTime={format_time(start)}{HT}EndTime={format_time(end)}"


def encode_device_time(t: datetime) -> int:
    """The terminal firmware's packed clock value (used by ``SET OPTION DateTime=``)."""
    days = (t.year - 2000) * 12 * 31 + (t.month - 1) * 31 + (t.day - 1)
    return days * 86400 + t.hour * 3600 + t.minute * 60 + t.second


def decode_device_time(value: int) -> datetime:
    value, second = divmod(value, 60)
    value, minute = divmod(value, 60)
    value, hour = divmod(value, 24)
    value, day = divmod(value, 31)
    year, month = divmod(value, 12)
    return datetime(year + 2000, month + 1, day + 1, hour, minute, second)


def time_sync(local_now: datetime) -> str:
    """Set the terminal's clock to ``local_now`` (wall time in the terminal's zone)."""
    return set_option("DateTime", encode_device_time(local_now))


def format_commands(commands: Iterable[tuple[int, str]]) -> str:
    """The answer to getrequest: ``OK`` when nothing waits, else one ``C:<id>:<cmd>`` per line."""
    lines = [f"C:{cmd_id}:{text}" for cmd_id, text in commands]
    return (LF.join(lines) + LF) if lines else OK


_CMD_LINE = re.compile(r"^C:(\d+):(.+)$")


def parse_commands(text: str) -> list[tuple[int, str]]:
    """Read a getrequest answer back (the simulator's side)."""
    out = []
    for line in split_lines(text):
        m = _CMD_LINE.match(line.strip("\r"))
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


def command_name(text: str) -> str:
    """The ``CMD=`` value a terminal reports back for a command (``DATA``, ``SET OPTION``, ...)."""
    words = text.split(" ")
    if words[0] in ("SET", "CLEAR") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


# --- devicecmd results ----------------------------------------------------------------------

RETURN_LABELS = {
    0: "success",
    -1: "parameter error",
    -2: "transfer error",
    -3: "read/write error",
    -1002: "command not supported",
}


@dataclass(frozen=True)
class CommandResult:
    cmd_id: int
    return_code: int
    cmd: str
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.return_code >= 0


def parse_devicecmd(body: str) -> ParseResult:
    """``ID=..&Return=..&CMD=..`` per command; lines that follow without ``ID=`` (the INFO
    answer's ``Key=Value`` lines) belong to the result before them."""
    result = ParseResult()
    current: dict | None = None
    for no, line in enumerate(split_lines(body), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("ID="):
            if current is not None:
                result.records.append(CommandResult(**current))
                current = None
            pairs = dict(parse_qsl(text, keep_blank_values=True))
            try:
                cmd_id = parse_int(pairs["ID"])
                code = parse_int(pairs.get("Return", "0") or "0")
            except (KeyError, ValueError):
                result.errors.append(LineError(no, line, "ID and Return must be integers"))
                continue
            details = {k: v for k, v in pairs.items() if k not in ("ID", "Return", "CMD")}
            current = {"cmd_id": cmd_id, "return_code": code, "cmd": pairs.get("CMD", ""), "details": details}
        elif current is not None:
            key, sep, value = text.lstrip("~").partition("=")
            if sep:
                current["details"][key] = value
        else:
            result.errors.append(LineError(no, line, "expected ID=..&Return=..&CMD=.."))
    if current is not None:
        result.records.append(CommandResult(**current))
    return result


def format_devicecmd(cmd_id: int, return_code: int, cmd: str) -> str:
    return f"ID={cmd_id}&Return={return_code}&CMD={cmd}"


# --- heartbeat INFO -------------------------------------------------------------------------

INFO_FIELDS = ("firmware", "users", "fingerprints", "punches", "ip", "fp_algorithm",
               "face_algorithm", "face_templates_needed", "faces", "functions")


def parse_info(value: str | None) -> dict[str, str]:
    """The ``INFO=`` parameter of getrequest: firmware, user/fp/punch counts, IP, ..."""
    if not value:
        return {}
    parts = value.split(",")
    return {name: parts[i].strip() for i, name in enumerate(INFO_FIELDS) if i < len(parts)}
