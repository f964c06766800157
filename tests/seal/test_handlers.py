"""The Kafka side alone: the consumer groups keep their deployed names, and each handler is a
thin module-level function that can be called with a HandlerContext of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from contracts.envelope import Envelope
from contracts.intake import UnitRegistered
from contracts.seal import DocumentSealed, SealDocument, SealIssued
from services.runtime.consumer import HandlerContext
from services.seal import handlers, store
from services.seal.app import create_service
from services.seal.usecases.documents import outcome_id

from .service_helpers import UNIT_CODE, command, issue_no2, seal_service, settings


def test_consumer_groups_keep_their_names(tmp_path: Path) -> None:
    plain = create_service(settings(tmp_path))
    # both versions of the command, in the one group (v2: documents of no case)
    assert [(h.group, sorted(h.types)) for h in plain.handlers] == [
        ("seal.seal_documents", ["onewindow.seal.SealDocument.v1", "onewindow.seal.SealDocument.v2"]),
    ]
    demo = create_service(settings(tmp_path, seal_auto_issue=True))
    assert [(h.group, h.name, h.topics) for h in demo.handlers] == [
        ("seal.seal_auto_issue", "seal_auto_issue", [UnitRegistered.topic]),
        ("seal.seal_documents", "seal_documents", [SealDocument.topic]),
    ]
    spec = demo.handlers[1]
    assert spec.handler_for(SealDocument.ce_type()) is handlers.seal_document
    assert demo.handlers[0].handler_for(UnitRegistered.ce_type()) is handlers.unit_registered


async def test_seal_document_handler_alone(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        env = Envelope.wrap(command("direct"))
        async with svc.uow() as uow:
            await handlers.seal_document(env.data, HandlerContext(env, uow, svc))
            pending = list(uow.pending)
            await uow.commit()
        assert len(pending) == 1 and pending[0].id == outcome_id(env.id)
        assert isinstance(pending[0].data, DocumentSealed) and pending[0].data.request_id == "direct"
        async with svc.uow() as uow:
            assert await uow.session.get(store.RequestRow, "direct") is not None


async def test_unit_registered_handler_alone(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:  # the handler works whether or not it is subscribed
        env = Envelope.wrap(UnitRegistered(unit_code="LYJ", unit_name="青山县林业局", window_numbers=["12"],
                                           entered=True, registered_at=datetime.now(UTC)))
        async with svc.uow() as uow:
            await handlers.unit_registered(env.data, HandlerContext(env, uow, svc))
            pending = [e.data for e in uow.pending]
            await uow.commit()
        assert len(pending) == 1 and isinstance(pending[0], SealIssued) and pending[0].unit_code == "LYJ"
        async with svc.uow() as uow:
            assert [s.unit_code for s in await store.seals_of(uow.session, "LYJ")] == ["LYJ"]
            assert await store.seals_of(uow.session, UNIT_CODE) == []
