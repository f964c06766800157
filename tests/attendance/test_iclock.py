"""The ZKTeco push protocol module: options block, ATTLOG/OPERLOG parsing, commands, results."""

from datetime import datetime, timedelta

import pytest

from services.attendance.domain import iclock


def test_options_block_v2_exact_text():
    text = iclock.format_options("CQZ7232460012", utc_offset=timedelta(hours=8), attlog_stamp="1749",
                                 pushver="2.4.1")
    assert text == (
        "GET OPTION FROM: CQZ7232460012\n"
        "ATTLOGStamp=1749\n"
        "OPERLOGStamp=None\n"
        "ATTPHOTOStamp=None\n"
        "ErrorDelay=30\n"
        "Delay=10\n"
        "TransTimes=00:00;14:05\n"
        "TransInterval=1\n"
        "TransFlag=TransData AttLog\tOpLog\tEnrollUser\tChgUser\tEnrollFP\tChgFP\n"
        "TimeZone=8\n"
        "Realtime=1\n"
        "Encrypt=None\n"
        "ServerVer=2.4.1\n"
        "PushProtVer=2.4.1\n"
    )


def test_options_block_old_firmware_gets_bit_flags_and_no_protocol_version():
    text = iclock.format_options("OLD1", utc_offset=timedelta(hours=8), attlog_stamp=0)
    assert "TransFlag=1111000000\n" in text
    assert "PushProtVer" not in text
    assert "ATTLOGStamp=None\n" in text  # 0 and None both ask for everything


def test_options_round_trip_through_the_terminal_reader():
    text = iclock.format_options("SN9", utc_offset=timedelta(hours=8), pushver="3.1.1")
    sn, opts = iclock.parse_options(text.replace("\n", "\r\n"))
    assert sn == "SN9"
    assert opts["Delay"] == "10" and opts["TimeZone"] == "8" and opts["Realtime"] == "1"


@pytest.mark.parametrize("offset,expected", [(timedelta(hours=8), "8"), (timedelta(hours=-5), "-5"),
                                             (timedelta(hours=5, minutes=30), "330"), (timedelta(0), "0")])
def test_timezone_value(offset, expected):
    assert iclock.timezone_value(offset) == expected


def test_attlog_real_lines_with_trailing_fields():
    body = ("1001\t2025-06-03 08:25:11\t0\t1\t0\t0\t0\n"
            "1002\t2025-06-03 08:31:47\t1\t15\t\t0\t0\t255\t36.5\n")
    result = iclock.parse_attlog(body)
    assert result.errors == []
    a, b = result.records
    assert (a.pin, a.time, a.status, a.verify, a.work_code) == ("1001", datetime(2025, 6, 3, 8, 25, 11), 0, 1, "0")
    assert a.extra == ("0", "0")
    assert (b.status, b.verify, b.work_code) == (1, 15, "")
    assert b.extra == ("0", "0", "255", "36.5")


def test_attlog_missing_trailing_fields_take_defaults():
    result = iclock.parse_attlog("7\t2025-06-03 17:31:02\n8\t2025-06-03 17:32:00\t1\n")
    assert [(r.pin, r.status, r.verify) for r in result.records] == [("7", 0, 1), ("8", 1, 1)]


def test_attlog_crlf_and_blank_lines_and_bad_lines_do_not_spoil_good_ones():
    body = ("1001\t2025-06-03 08:25:11\t0\t1\t0\r\n"
            "\r\n"
            "garbage line\r\n"
            "1003\t2025-02-30 08:00:00\t0\t1\r\n"     # no such day
            "10 04\t2025-06-03 08:00:00\t0\t1\r\n"    # bad PIN
            "1005\t2025-06-03 08:01:00\tx\t1\r\n"     # status not a number
            "1006\t2025-06-03 08:02:00\t0\t1\r\n")
    result = iclock.parse_attlog(body)
    assert [r.pin for r in result.records] == ["1001", "1006"]
    assert [e.line_no for e in result.errors] == [3, 4, 5, 6]
    assert "PIN" in result.errors[2].reason
    assert result.records[1].line_no == 7


def test_attlog_space_padded_line_is_accepted_when_unambiguous():
    rec = iclock.parse_attlog_line("1001 2025-06-03 08:25:11 0 1", 1)
    assert rec.time == datetime(2025, 6, 3, 8, 25, 11) and rec.status == 0


def test_operlog_records():
    body = ("OPLOG 6\t0\t2025-06-03 08:00:01\t1001\t0\t0\t0\n"
            "USER PIN=1001\tName=张三丰\tPri=0\tPasswd=\tCard=12345678\tGrp=1\tTZ=0000000100000000\tVerify=0\n"
            "FP PIN=1001\tFID=6\tSize=1336\tValid=1\tTMP=SvNTUzIxAAAD+Pg==\n"
            "USER Name=nobody\n"
            "OPLOG x\n")
    result = iclock.parse_operlog(body)
    op, user, fp = result.records
    assert isinstance(op, iclock.OpLogRecord) and op.op == 6 and op.label == "fingerprint enrolled"
    assert op.time == datetime(2025, 6, 3, 8, 0, 1) and op.values[0] == "1001"
    assert isinstance(user, iclock.UserRecord)
    assert (user.pin, user.name, user.card, user.group) == ("1001", "张三丰", "12345678", "1")
    assert isinstance(fp, iclock.OtherRecord) and (fp.kind, fp.pin) == ("FP", "1001")
    assert not hasattr(fp, "template")  # biometric templates are not kept
    assert [e.line_no for e in result.errors] == [4, 5]


def test_gbk_bodies_from_old_chinese_firmware_are_decoded():
    raw = "USER PIN=7\tName=李四".encode("gb2312")
    assert iclock.parse_operlog(iclock.decode_body(raw)).records[0].name == "李四"
    assert iclock.decode_body("王五".encode()) == "王五"


def test_command_formats():
    assert iclock.user_update("1001", "张三") == (
        "DATA UPDATE USERINFO PIN=1001\tName=张三\tPri=0\tPasswd=\tCard=\tGrp=1\t"
        "TZ=0000000100000000\tVerify=0\tViceCard="
    )
    assert "Name=欧阳 娜娜\t" in iclock.user_update("9", "欧阳\t娜娜")
    assert "Name=" + "长" * 24 + "\t" in iclock.user_update("9", "长" * 30)
    assert iclock.user_delete("1001") == "DATA DELETE USERINFO PIN=1001"
    assert iclock.reboot() == "REBOOT"
    assert iclock.set_option("Delay", 30) == "SET OPTION Delay=30"
    assert iclock.query_attlog(datetime(2025, 6, 1), datetime(2025, 6, 2)) == (
        "DATA QUERY ATTLOG StartTime=2025-06-01 00:00:00\tEndTime=2025-06-02 00:00:00")
    with pytest.raises(ValueError):
        iclock.user_update("10 01", "x")
    with pytest.raises(ValueError):
        iclock.set_option("Bad Key", 1)


def test_time_sync_uses_the_firmware_packed_clock():
    t = datetime(2025, 6, 3, 8, 30, 15)
    text = iclock.time_sync(t)
    assert text.startswith("SET OPTION DateTime=")
    value = int(text.split("=")[1])
    assert value == ((25 * 12 * 31 + 5 * 31 + 2) * 86400 + 8 * 3600 + 30 * 60 + 15)
    assert iclock.decode_device_time(value) == t


def test_command_queue_answer_and_terminal_reading():
    assert iclock.format_commands([]) == "OK"
    text = iclock.format_commands([(41, "REBOOT"), (42, iclock.user_update("1", "甲"))])
    assert text.startswith("C:41:REBOOT\nC:42:DATA UPDATE USERINFO PIN=1\t")
    assert iclock.parse_commands(text) == [(41, "REBOOT"), (42, iclock.user_update("1", "甲"))]
    assert iclock.command_name("SET OPTION DateTime=1") == "SET OPTION"
    assert iclock.command_name(iclock.user_update("1", "甲")) == "DATA"


def test_devicecmd_results():
    body = ("ID=41&Return=0&CMD=REBOOT\n"
            "ID=42&Return=-1002&CMD=DATA\n"
            "ID=43&Return=0&CMD=INFO\n~DeviceName=K40\nUserCount=12\n"
            "junk\n")
    result = iclock.parse_devicecmd(body)
    a, b, c = result.records
    assert (a.cmd_id, a.return_code, a.cmd, a.ok) == (41, 0, "REBOOT", True)
    assert (b.return_code, b.ok) == (-1002, False)
    assert c.details == {"DeviceName": "K40", "UserCount": "12"}
    assert result.errors == []  # the junk line belongs to INFO's answer
    assert iclock.parse_devicecmd("junk\nID=x&Return=0").errors[0].line_no == 1
    assert iclock.format_devicecmd(5, 0, "DATA") == "ID=5&Return=0&CMD=DATA"


def test_heartbeat_info():
    info = iclock.parse_info("Ver 6.60 Apr 28 2017,12,20,3821,192.168.1.201,10,7,12,0,111")
    assert info["firmware"] == "Ver 6.60 Apr 28 2017"
    assert info["users"] == "12" and info["punches"] == "3821" and info["ip"] == "192.168.1.201"
    assert iclock.parse_info(None) == {}
