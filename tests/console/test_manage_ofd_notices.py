"""A county issuing PDF and OFD (issue 23), in a real browser against the real suite: a clerk files
a complete application at the desk (accepted at once); the case page lists the acceptance notice
with both the sealed PDF and a link to its OFD; the OFD downloads, named after the notice's number,
and seal's public verify API finds it valid. axe-core on the page; its screenshot for the docs.

This module runs a suite of its own (ONEWINDOW_SEAL_FORMATS=pdf,ofd for seal and notify alike, a
broker of its own), not the package's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.console.a11y import assert_accessible
from tests.e2e.harness import Suite, issue_seals, running_suite, suite_broker
from tools.console_screenshots import DESKTOP, file_application, sign_in, wait_for

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    env = {"ONEWINDOW_CONSOLE_DEMO_ACCOUNTS": "1", "ONEWINDOW_SEAL_FORMATS": "pdf,ofd"}
    with suite_broker(tmp_path_factory.mktemp("ofd-console-kafka")) as bootstrap, \
            running_suite(bootstrap, tmp_path_factory.mktemp("ofd-console-suite"), env=env) as s:
        issue_seals(s, ["FGJ"])
        yield s


@pytest.fixture(scope="module")
def console_url(suite: Suite) -> str:
    return suite.url("console")


def test_the_case_page_opens_the_notice_as_ofd(browser: Any, suite: Suite, console_url: str, tmp_path: Path) -> None:
    base = console_url
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, base, "clerk")
    receipt = file_application(page, base, "FGJ-001", name="李晓红", mobile="13812340001", seq=71)
    page.goto(f"{base}/desk/cases/{receipt}")
    link = wait_for(page, "li:has-text('受理通知书') a:has-text('下载OFD版式文件')", timeout=120)
    assert page.query_selector("li:has-text('受理通知书') a:has-text('打开盖章文书（PDF）')") is not None
    assert_accessible(page, "case with PDF and OFD")
    shots = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.locator("#docs-title").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "desk-case-ofd.png"), full_page=True)
    number = page.inner_text("li:has-text('受理通知书')").split("（", 1)[1].split("）", 1)[0]
    assert number.startswith("FGJ审受〔"), number

    with page.expect_download() as info:
        link.click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data[:4] == b"PK\x03\x04"
    assert unquote(download.suggested_filename) == f"{number}.ofd"
    verdict = suite.client("seal").post("/seal/verify", content=data,
                                        headers={"content-type": "application/ofd"}).json()
    assert verdict["format"] == "ofd" and verdict["ok"] is True, verdict
    assert verdict["registered_document"]["document_type"] == "acceptance"
    ctx.close()
