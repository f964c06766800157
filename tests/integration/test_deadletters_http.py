"""Dead letters over HTTP on the real broker (services/runtime/deadletters_api.py): a poison
message lands in the ``.dlq`` twin, the center admin lists it over the service's API, replays it
once the cause is fixed, and the consumer group that failed it processes it exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from contracts.common import Role
from contracts.envelope import Envelope
from services.runtime.testing import running
from tests.integration.test_runtime_kafka import _counted, _get, _produce, _svc, eventually
from tests.runtime.example import FIXED, IN, OUT, Counter, WidgetArrived
from tools import kafka_local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(autouse=True)
def _topics(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    specs = kafka_local.topic_specs([IN, OUT])
    kafka_local.ensure_topics_sync(kafka_bootstrap, specs)
    yield
    kafka_local.run_sync(lambda: kafka_local.delete_topics(kafka_bootstrap, [s.name for s in specs]))


async def test_a_poison_message_is_listed_and_replayed_over_http(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    FIXED["poison"] = False
    name = f"dl{uuid.uuid4().hex[:8]}"
    svc = _svc(tmp_path, database_url, kafka_bootstrap, name)
    poison = Envelope.wrap(WidgetArrived(widget=f"p-{uuid.uuid4().hex[:8]}", poison=True))
    good = Envelope.wrap(WidgetArrived(widget=f"g-{uuid.uuid4().hex[:8]}"))
    base = f"/{name}/admin/dead-letters"
    admin = {"Authorization": f"Bearer {svc.auth.issue('op', Role.CENTER_ADMIN, None, '中心运维')}"}
    supervisor = {"Authorization": f"Bearer {svc.auth.issue('sv', Role.SUPERVISOR, None, '督查')}"}
    try:
        async with running(svc), httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api),
                                                   base_url="http://test", timeout=60) as c:
            await _produce(kafka_bootstrap, [poison, good])
            await eventually(lambda: _counted(svc, good.data.widget, 1))  # the consumer moved on

            async def listed() -> bool:
                r = await c.get(base, headers=admin)
                return r.status_code == 200 and any(i["ce_id"] == poison.id for i in r.json()["items"])

            await eventually(listed)
            assert (await c.get(base, headers=supervisor)).status_code == 403
            items = [i for i in (await c.get(base, headers=admin)).json()["items"] if i["ce_id"] == poison.id]
            assert len(items) == 1
            letter = items[0]
            assert letter["reason"] == "handler_failed" and "cannot count poisoned widget" in letter["error"]
            assert letter["consumer"] == f"{name}.count_widget" and letter["topic"] == IN.name
            assert letter["origin"].startswith(f"{IN.name}[") and letter["processed"] is False

            assert (await c.post(f"{base}/{letter['id']}/replay", headers=supervisor)).status_code == 403
            FIXED["poison"] = True  # the cause is fixed
            r = await c.post(f"{base}/{letter['id']}/replay", headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["outcome"] == "processed"
            assert await _counted(svc, poison.data.widget, 1)
            again = [i for i in (await c.get(base, headers=admin)).json()["items"] if i["ce_id"] == poison.id]
            assert [i["processed"] for i in again] == [True]
            r = await c.post(f"{base}/{letter['id']}/replay", headers=admin)
            assert r.json()["outcome"] == "already_processed"
            assert (await _get(svc, Counter, poison.data.widget)).count == 1
            assert (await _get(svc, Counter, good.data.widget)).count == 1
    finally:
        FIXED["poison"] = False
