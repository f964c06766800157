"""The runtime's house rules: handlers dispatched by their annotation, one way to refuse, a
service without Kafka, offline API docs, one clock."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from contracts.common import CaseKind
from services.runtime.app import Service
from services.runtime.auth import PUBLIC
from services.runtime.consumer import HandlerContext
from services.runtime.db import service_registry
from services.runtime.declaration import ServiceDeclaration
from services.runtime.errors import InvalidState, NotFound
from services.runtime.settings import ServiceSettings

from .example import WidgetArrived, WidgetCounted

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def _settings(tmp: Path) -> ServiceSettings:
    return ServiceSettings(data_dir=tmp, auth_secret="test-secret-0123456789abcdef0123456789")


async def on_arrived(event: WidgetArrived, ctx: HandlerContext) -> None: ...


async def on_either(event: WidgetArrived | WidgetCounted, ctx: HandlerContext) -> None: ...


async def unannotated(event, ctx) -> None: ...  # type: ignore[no-untyped-def]


def test_a_group_routes_each_event_type_to_the_function_annotated_with_it(tmp_path: Path) -> None:
    _, metadata = service_registry()
    svc = Service(ServiceDeclaration("housetest", 0), _settings(tmp_path), metadata)

    async def on_counted(event: WidgetCounted, ctx: HandlerContext) -> None: ...

    svc.subscribe("widgets", on_arrived, on_counted)
    (spec,) = svc.handlers
    assert spec.group == "housetest.widgets"
    assert spec.topics == sorted({WidgetArrived.topic, WidgetCounted.topic})
    assert spec.handler_for(WidgetArrived.ce_type()) is on_arrived
    assert spec.handler_for(WidgetCounted.ce_type()) is on_counted


def test_a_union_annotation_takes_several_types_and_mistakes_are_refused(tmp_path: Path) -> None:
    _, metadata = service_registry()
    svc = Service(ServiceDeclaration("housetest", 0), _settings(tmp_path), metadata)
    svc.subscribe("both", on_either)
    assert set(svc.handlers[0].types) == {WidgetArrived.ce_type(), WidgetCounted.ce_type()}
    with pytest.raises(TypeError, match="annotate"):
        svc.subscribe("bad", unannotated)
    with pytest.raises(TypeError, match="two handlers"):
        svc.subscribe("twice", on_arrived, on_either)


def _service_with_routes(tmp_path: Path, kafka: bool) -> Service:
    _, metadata = service_registry()
    svc = Service(ServiceDeclaration("housetest", 8199, title="House test", kafka=kafka), _settings(tmp_path), metadata)
    router = APIRouter()

    @router.get("/kinds", **PUBLIC)
    async def kinds(kind: CaseKind) -> dict[str, str]:
        return {"kind": kind.value}

    @router.get("/cases/{no}", **PUBLIC)
    async def case(no: str) -> dict[str, str]:
        if no == "missing":
            raise NotFound("receipt_no", "没有这个受理编号")
        raise InvalidState("state", "已办结的办件不能补正")

    svc.include_router(router)
    return svc


async def test_domain_errors_answer_problem_json_naming_the_field(tmp_path: Path) -> None:
    svc = _service_with_routes(tmp_path, kafka=False)
    async with LifespanManager(svc.api), httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:
        r = await c.get("/cases/missing")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"] == [{"field": "receipt_no", "reason": "没有这个受理编号"}]
        r = await c.get("/cases/done")
        assert r.status_code == 409 and r.json()["title"] == "与当前状态冲突"


def test_domain_errors_carry_the_titles_every_problem_of_their_status_has() -> None:
    from services.runtime import errors
    from services.runtime.problems import _TITLES

    for cls in (errors.InvalidInput, errors.NotFound, errors.NotAllowed, errors.InvalidState, errors.Unavailable):
        assert cls.title == _TITLES[cls.status], cls


async def test_a_wrong_choice_is_said_in_chinese_and_the_codes_are_given_apart(tmp_path: Path) -> None:
    svc = _service_with_routes(tmp_path, kafka=False)
    async with LifespanManager(svc.api), httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:
        r = await c.get("/kinds", params={"kind": "sometime"})
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["field"] == "kind" and not re.search("[A-Za-z]", err["reason"]), err
    assert err["expected"] == [k.value for k in CaseKind]
    assert not re.search("[A-Za-z]", r.json()["detail"].replace("kind", ""))


async def test_a_service_without_kafka_is_ready_on_its_database_alone(tmp_path: Path) -> None:
    svc = _service_with_routes(tmp_path, kafka=False)
    assert svc.settings.http_port == 8199  # the declared port
    async with LifespanManager(svc.api), httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:
        r = await c.get("/readyz")
        assert r.status_code == 200, r.text
        assert "kafka" not in r.json() and r.json()["database"] == "ok"


async def test_api_docs_load_every_asset_from_the_service_itself(tmp_path: Path) -> None:
    svc = _service_with_routes(tmp_path, kafka=False)
    async with LifespanManager(svc.api), httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:
        for page in ("/docs", "/redoc"):
            html = (await c.get(page)).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\\s*['"]([^'"]+)['"]""", html)
            flat = [u for pair in urls for u in pair if u]
            assert flat, page
            assert not [u for u in flat if u.startswith(("http:", "https:", "//"))], (page, flat)
            for url in flat:
                assert (await c.get(url)).status_code == 200, url
            assert "fonts.googleapis" not in html


FORBIDDEN = re.compile(r"datetime\.now\(|datetime\.utcnow\(|\bdate\.today\(|datetime\.today\(")


def test_services_tell_time_only_through_the_runtime_clock() -> None:
    """A simulated run stamps simulated time only if no service reads the system clock itself
    (services/runtime/clock.py: now() for domain stamps, system_now() for bookkeeping)."""
    offenders = []
    for path in sorted((REPO / "services").rglob("*.py")):
        rel = path.relative_to(REPO)
        if rel.parts[1] == "runtime":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line.split("#", 1)[0]):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_one_time_zone_definition() -> None:
    hits = [str(p.relative_to(REPO)) for p in (REPO / "services").rglob("*.py")
            if 'ZoneInfo("Asia/Shanghai")' in p.read_text()]
    assert hits == ["services/runtime/workdays.py"]
