"""Query values the API fuzzer found answering 500: every month ('YYYY-MM') and paging value is
refused at the door with problem+json naming the field, never passed on to the reports or the
database."""

from __future__ import annotations

from pathlib import Path

import pytest

from .service_helpers import client, intake_service, seed_catalog

BAD_MONTHS = ["0000-00", "0000-01", "9446-38", "2024-00", "2024-13", "٢٠٢٤-٠١", "+024-01", "2024-1", "2024-01x"]

#: Every operation taking a month (query or body).
MONTH_PARAMS = [
    ("get", "/intake/reports/volume"),
    ("get", "/intake/consultations/counts"),
    ("get", "/intake/consultations"),
    ("get", "/intake/applications"),
    ("post", "/intake/reports/monthly"),
]


def _is_refusal(r, field: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["errors"][0]["field"] == field, body
    return body


@pytest.mark.parametrize("method, path", MONTH_PARAMS)
async def test_a_month_that_does_not_exist_is_refused_naming_the_period(tmp_path: Path, method: str,
                                                                       path: str) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with client(svc) as c:
            for bad in BAD_MONTHS:
                if method == "get":
                    r = await c.get(path, params={"period": bad})
                else:
                    r = await c.post(path, json={"period": bad})
                body = _is_refusal(r, "period")
                reason = body["errors"][0]["reason"]
                assert reason in ("格式不正确", "月份应为 YYYY-MM，年份 0001 至 9999，月份 01 至 12"), (bad, reason)
            # the first and last months there are still answer
            for good in ("0001-01", "9999-12"):
                if method == "get":
                    r = await c.get(path, params={"period": good})
                else:
                    r = await c.post(path, json={"period": good})
                assert r.status_code == 200, (good, r.text)


async def test_year_zero_is_refused_in_words_a_clerk_understands(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        async with client(svc) as c:
            body = _is_refusal(await c.get("/intake/reports/volume", params={"period": "0000-00"}), "period")
            assert "月份应为 YYYY-MM" in body["detail"]


@pytest.mark.parametrize("path", ["/intake/rectifications", "/intake/consultations", "/intake/applications"])
async def test_an_offset_beyond_what_the_database_takes_is_refused(tmp_path: Path, path: str) -> None:
    async with intake_service(tmp_path) as svc:
        async with client(svc) as c:
            _is_refusal(await c.get(path, params={"offset": 366868545165885689561088}), "offset")
            _is_refusal(await c.get(path, params={"offset": -1}), "offset")
            r = await c.get(path, params={"offset": 2**63 - 1})
            assert r.status_code == 200 and r.json() == []
