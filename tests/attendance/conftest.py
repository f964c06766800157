from datetime import date, datetime, time

import pytest

from services.attendance.domain import (
    AttendanceRules,
    RosterEntry,
    StaffMember,
    WindowPosts,
)
from services.runtime.workdays import WorkCalendar, national_calendar


@pytest.fixture(scope="session")
def rules() -> AttendanceRules:
    return AttendanceRules()


@pytest.fixture(scope="session")
def calendar() -> WorkCalendar:
    return national_calendar()


def at(day: str, hm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hm))


STAFF = [
    StaffMember("S01", "张伟", "FGJ", "发展和改革局", "01", pin="1001", mobile="13800000001"),
    StaffMember("S02", "王芳", "FGJ", "发展和改革局", "01", pin="1002", mobile="13800000002"),
    StaffMember("S03", "李娜", "SCJ", "市场监督管理局", "02", pin="1003"),
    StaffMember("S04", "刘洋", "SCJ", "市场监督管理局", "02", pin="1004"),
    StaffMember("S05", "陈静", "ZJJ", "住房和城乡建设局", "03", pin="1005"),
    StaffMember("S06", "杨磊", "ZJJ", "住房和城乡建设局", "03", pin="1006"),
    StaffMember("S07", "赵敏", "GTJ", "自然资源局", "04", pin="1007"),
    StaffMember("S08", "黄强", "GTJ", "自然资源局", "04", pin="1008"),
    StaffMember("S09", "周杰", "ZXB", "中心办公室", None, pin="1009"),
]

POSTS = [
    WindowPosts("01", "FGJ", "发展和改革局", "S01", "S02"),
    WindowPosts("02", "SCJ", "市场监督管理局", "S03", "S04"),
    WindowPosts("03", "ZJJ", "住房和城乡建设局", "S05", "S06"),
    WindowPosts("04", "GTJ", "自然资源局", "S07", "S08", weekend_service=False),
]


@pytest.fixture
def staff():
    return list(STAFF)


@pytest.fixture
def posts():
    return list(POSTS)


def roster_entry(day: str, window: str, staff_id: str, start="09:00", end="12:00") -> RosterEntry:
    return RosterEntry(date.fromisoformat(day), window, staff_id, time.fromisoformat(start), time.fromisoformat(end))
