"""The console's browser tests: the whole suite (tests/e2e/harness.py: a broker of its own, every
declared service, the console among them, on free ports) with the demo accounts, and Debian's
Chromium driven by Playwright. The fast tests in test_console_unit.py use none of this."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Suite, issue_seals, running_suite, suite_broker
from tools.console_screenshots import launch

BROWSER_TESTS = ("test_console_browser.py", "test_console_pages.py", "test_console_six_kinds.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.fspath.basename in BROWSER_TESTS or item.fspath.basename.startswith("test_manage_"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def console_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_broker(tmp_path_factory.mktemp("console-kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="package")
def suite(console_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    env = {"ONEWINDOW_CONSOLE_DEMO_ACCOUNTS": "1"}
    with running_suite(console_bootstrap, tmp_path_factory.mktemp("console-suite"), env=env) as s:
        assert "console" in s.ports, "the console declares itself (services/console/config.py) and starts with the suite"
        issue_seals(s, ["FGJ", "GAJ"])
        yield s


@pytest.fixture(scope="package")
def console_url(suite: Suite) -> str:
    return suite.url("console")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running while it
    is open, which the async tests of another module (pytest-asyncio) must not find."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="package")
def make_clerk(suite: Suite):  # type: ignore[no-untyped-def]
    """A clerk account of a unit, written into the running console's database as an admin tool
    would (the demo has clerks of FGJ and GAJ only); its username (password: CLERK_PASSWORD)."""
    import asyncio
    import concurrent.futures

    from services.console.app import create_service
    from services.console.config import ConsoleSettings
    from services.console.usecases import Accounts

    made: dict[str, str] = {}

    def make(unit: str) -> str:
        if unit not in made:
            async def create() -> None:
                svc = create_service(ConsoleSettings(data_dir=suite.data_dir, auth_secret=suite.secret))
                try:
                    await Accounts(svc.db, svc.settings, svc.auth).create_account(  # type: ignore[arg-type]
                        f"clerk-{unit.lower()}", CLERK_PASSWORD, f"{unit}窗口", "clerk", unit)
                finally:
                    await svc.db.dispose()

            # In a thread of its own: Playwright's sync API keeps an event loop in this one.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, create()).result(timeout=60)
            made[unit] = f"clerk-{unit.lower()}"
        return made[unit]

    return make


CLERK_PASSWORD = "Window-clerk-2026"
