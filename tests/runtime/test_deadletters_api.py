"""The runtime's dead-letter router (services/runtime/deadletters_api.py) without a broker: the
``.dlq`` twins are faked at ``deadletters.read``; the replay runs the service's real consumer and
inbox (the integration test in tests/integration/test_deadletters_http.py uses the real broker)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from contracts.common import Role
from contracts.envelope import Envelope
from services.runtime import deadletters
from services.runtime.problems import PROBLEM_JSON
from services.runtime.testing import in_memory

from .example import FIXED, IN, Counter, WidgetArrived, make

pytestmark = pytest.mark.timeout(60)

BASE = "/exampletest/admin/dead-letters"


def _letter(env: Envelope, consumer: str, offset: int, time: str = "2026-12-07T08:00:00+00:00") -> deadletters.DeadLetter:
    headers = dict(env.headers())
    headers.update(dlq_reason="handler_failed", dlq_error="RuntimeError: cannot count poisoned widget",
                   dlq_consumer=consumer, dlq_topic=IN.name, dlq_partition="1", dlq_offset="41", dlq_time=time)
    return deadletters.DeadLetter(0, offset, env.key, env.body(), headers)


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    svc = make(tmp_path)
    poison = Envelope.wrap(WidgetArrived(widget=f"p-{uuid.uuid4().hex[:6]}", poison=True))
    other = Envelope.wrap(WidgetArrived(widget="theirs"))
    letters = {IN.name: [_letter(poison, "exampletest.count_widget", 7),
                         _letter(other, "someoneelse.cases", 8, "2026-12-07T09:00:00+00:00")]}
    asked: list[dict[str, object]] = []

    async def fake_read(topic: str, **kwargs: object) -> list[deadletters.DeadLetter]:
        asked.append({"topic": topic, **kwargs})
        return list(letters.get(topic, []))

    monkeypatch.setattr(deadletters, "read", fake_read)
    FIXED["poison"] = False
    async with in_memory(svc):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://test") as c:
            c.service, c.poison, c.asked = svc, poison, asked  # type: ignore[attr-defined]
            yield c
    FIXED["poison"] = False


def _as(c: httpx.AsyncClient, role: Role, unit: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {c.service.auth.issue('op1', role, unit, '运维')}"}  # type: ignore[attr-defined]


async def test_only_the_center_admin_sees_dead_letters(client: httpx.AsyncClient) -> None:
    assert (await client.get(BASE)).status_code == 401
    for role, unit in ((Role.SUPERVISOR, None), (Role.UNIT_HEAD, "FGJ"), (Role.CLERK, "FGJ")):
        r = await client.get(BASE, headers=_as(client, role, unit))
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON
        assert "中心管理员" in r.json()["detail"]
        r = await client.post(f"{BASE}/{IN.name}:0:7/replay", headers=_as(client, role, unit))
        assert r.status_code == 403
    assert client.asked == []  # refused before Kafka was asked  # type: ignore[attr-defined]


async def test_the_list_shows_the_services_own_letters_with_why_and_where_from(client: httpx.AsyncClient) -> None:
    r = await client.get(BASE, headers=_as(client, Role.CENTER_ADMIN))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["service"] == "exampletest"
    assert page["topics"] == sorted({"test.runtime.in", "test.runtime.out"})
    assert page["total"] == 1  # the other service's letter in the same twin is not ours
    item = page["items"][0]
    assert item == {
        "id": f"{IN.name}:0:7", "topic": IN.name, "ce_id": client.poison.id,  # type: ignore[attr-defined]
        "ce_type": client.poison.type, "reason": "handler_failed",  # type: ignore[attr-defined]
        "error": "RuntimeError: cannot count poisoned widget", "consumer": "exampletest.count_widget",
        "origin": f"{IN.name}[1]@41", "time": "2026-12-07T08:00:00+00:00", "processed": False,
    }
    # The service's own connection settings go to the reader (not the environment's).
    assert all("options" in a and a["options"]["bootstrap_servers"] for a in client.asked)  # type: ignore[attr-defined]
    r = await client.get(BASE, params={"topic": "intake.applications"}, headers=_as(client, Role.CENTER_ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "topic"


async def test_replay_hands_the_letter_to_the_group_that_failed_it(client: httpx.AsyncClient) -> None:
    admin = _as(client, Role.CENTER_ADMIN)
    widget = client.poison.data.widget  # type: ignore[attr-defined]
    FIXED["poison"] = True  # the cause is fixed
    r = await client.post(f"{BASE}/{IN.name}:0:7/replay", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": f"{IN.name}:0:7", "ce_id": client.poison.id,  # type: ignore[attr-defined]
                        "consumer": "exampletest.count_widget", "outcome": "processed"}
    async with client.service.uow() as uow:  # type: ignore[attr-defined]
        assert (await uow.session.get(Counter, widget)).count == 1
    listed = (await client.get(BASE, headers=admin)).json()["items"][0]
    assert listed["processed"] is True
    # Twice: the inbox has it, nothing runs again.
    r = await client.post(f"{BASE}/{IN.name}:0:7/replay", headers=admin)
    assert r.json()["outcome"] == "already_processed"
    async with client.service.uow() as uow:  # type: ignore[attr-defined]
        assert (await uow.session.get(Counter, widget)).count == 1


async def test_a_letter_that_fails_again_says_so(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/{IN.name}:0:7/replay", headers=_as(client, Role.CENTER_ADMIN))
    assert r.status_code == 200 and r.json()["outcome"] == "failed_again"
    async with client.service.uow() as uow:  # type: ignore[attr-defined]
        assert await uow.session.get(Counter, client.poison.data.widget) is None  # type: ignore[attr-defined]


async def test_unknown_or_foreign_letters_are_not_found(client: httpx.AsyncClient) -> None:
    admin = _as(client, Role.CENTER_ADMIN)
    for letter_id in (f"{IN.name}:0:99", f"{IN.name}:0:8", "intake.applications:0:7", "nonsense", "a:b:c"):
        r = await client.post(f"{BASE}/{letter_id}/replay", headers=admin)
        assert r.status_code == 404, letter_id
        assert r.json()["errors"][0]["field"] == "letter_id"


async def test_a_broker_away_is_a_503_problem(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def away(topic: str, **kwargs: object) -> list[deadletters.DeadLetter]:
        raise KafkaConnectionError("no broker")

    monkeypatch.setattr(deadletters, "read", away)
    r = await client.get(BASE, headers=_as(client, Role.CENTER_ADMIN))
    assert r.status_code == 503 and r.headers["content-type"] == PROBLEM_JSON
    assert "消息队列" in r.json()["detail"]


async def test_a_service_without_kafka_has_no_dead_letter_routes(tmp_path: Path) -> None:
    from services.console.app import create_service
    from services.console.config import ConsoleSettings

    console = create_service(ConsoleSettings(data_dir=tmp_path, auth_secret="x" * 40))
    assert not [p for p in console.api.openapi()["paths"] if "/admin/dead-letters" in p]
