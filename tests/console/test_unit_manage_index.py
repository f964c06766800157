"""The management index (/manage): each person sees the areas their role may open; a window
clerk gets the refusal page, never an empty index or a stack trace."""

from __future__ import annotations

import re

import pytest

from tests.console.test_console_unit import console, sign_in  # noqa: F401 (fixture)

PASSWORDS = {"clerk": "Chuangkou2026", "head": "Fuzeren2026", "supervisor": "Ducha2026", "admin": "Guanli2026"}


def areas(html: str) -> set[str]:
    return set(re.findall(r'<a href="(/manage/[a-z]+)"><strong>', html))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("user,expected", [
    ("admin", {"/manage/deadlines", "/manage/oversight", "/manage/units", "/manage/catalog", "/manage/seals",
               "/manage/attendance", "/manage/messages"}),
    ("supervisor", {"/manage/deadlines", "/manage/oversight", "/manage/units", "/manage/seals", "/manage/attendance"}),
    ("head", {"/manage/deadlines"}),
])
async def test_the_index_lists_what_the_role_may_open(console, user: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    await sign_in(client, user, PASSWORDS[user], "/manage")
    page = await client.get("/manage")
    assert page.status_code == 200
    assert areas(page.text) == expected
    assert 'href="/manage" aria-current="page"' in page.text  # the navigation marks where one is


@pytest.mark.timeout(60)
async def test_a_clerk_gets_the_refusal_page(console) -> None:  # type: ignore[no-untyped-def]
    client, _ = console
    await sign_in(client, "clerk", PASSWORDS["clerk"], "/manage")
    page = await client.get("/manage")
    assert page.status_code == 403
    assert "此页面仅供" in page.text and "Traceback" not in page.text
    assert 'href="/manage"' not in page.text  # nor is it offered in the navigation
