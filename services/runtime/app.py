"""The house every service lives in: HTTP API, Kafka subscribers and publishers, its own
database, its own metrics, health, auth and graceful shutdown.

A service's ``app.py`` wires one (and nothing else)::

    def create_service(settings: IntakeSettings | None = None) -> Service:
        service = Service(DECLARATION, settings or IntakeSettings(), metadata, MIGRATIONS)
        service.include_router(api.router)
        service.subscribe("cases", handlers.accepted, handlers.decided)
        return service

``DECLARATION`` (the service's ``config.py``) gives its name, default port and whether it uses
Kafka; a service without Kafka (the console) starts no broker and no outbox relay.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from sqlalchemy import MetaData

from contracts.base import Event

from . import docs, logs, problems
from .auth import Authenticator
from .consumer import Consumer, HandlerFn, HandlerSpec, OffsetCommitter, event_types_of
from .db import Database
from .declaration import ServiceDeclaration
from .metrics import HttpMetrics, RuntimeMetrics
from .outbox import OutboxRelay, ProducerSender
from .params import refuse_control_characters
from .settings import ServiceSettings
from .uow import UnitOfWork

log = logging.getLogger(__name__)

Worker = Callable[["Service"], Awaitable[None]]


class Service:
    def __init__(
        self,
        declaration: ServiceDeclaration | str,
        settings: ServiceSettings,
        metadata: MetaData,
        migrations: Path | None = None,
        *,
        title: str | None = None,
        description: str = "",
        version: str = "1.0.0",
    ) -> None:
        if isinstance(declaration, str):  # a bare house (tests, tools): no default port, Kafka on
            declaration = ServiceDeclaration(declaration, 0)
        name = declaration.name
        self.declaration = declaration
        self.name = name
        self.uses_kafka = declaration.kafka
        self.settings = settings.for_service(name, declaration.port)
        #: The service's own shared objects (settings views, caches, keepers), for use cases,
        #: routes and handlers alike: ``service.state.calendar`` etc.
        self.state = SimpleNamespace()
        self.metrics = RuntimeMetrics(name)
        self.db = Database(self.settings.resolved_database_url, metadata, migrations)
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap_servers,
            client_id=f"onewindow-{name}",
            security=self.settings.kafka_security(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            graceful_timeout=self.settings.shutdown_grace_seconds,
            logger=logging.getLogger(f"faststream.{name}"),
        )
        self.relay = OutboxRelay(
            self.db,
            ProducerSender(self.settings.aiokafka_options, f"onewindow-{name}-relay", self.metrics),
            self.metrics,
            batch_size=self.settings.relay_batch_size,
            idle_seconds=self.settings.relay_idle_seconds,
        )
        self.auth = Authenticator(self.settings)
        self.handlers: list[HandlerSpec] = []
        self._subscribers: list[Any] = []
        self._committers: list[OffsetCommitter] = []
        self._workers: list[tuple[str, Worker]] = []
        #: Extra lines of /readyz that must say "ok" (e.g. a calendar follower still replaying).
        self.readiness_checks: dict[str, Callable[[], str]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False
        self.api = FastAPI(
            title=title or declaration.title or f"OneWindow {name}",
            description=description,
            version=version,
            lifespan=self._lifespan,
            responses={422: {"description": "problem+json naming each field and the reason"}},
            dependencies=[Depends(refuse_control_characters)],
            docs_url=None,
            redoc_url=None,
        )
        docs.install(self.api, self.api.title)
        self.api.state.service = self
        problems.install(self.api)
        self._install_http_metrics()
        self._install_health()
        if self.uses_kafka:  # the operator's dead-letter pages reach Kafka only through the services
            from .deadletters_api import router_for

            self.api.include_router(router_for(self))

    # -- wiring --------------------------------------------------------------------------------
    def include_router(self, router: APIRouter, **kwargs: Any) -> None:
        self.api.include_router(router, **kwargs)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.relay, source=self.name)

    def subscribe(self, group: str, *fns: HandlerFn) -> None:
        """One consumer group, ``<service>.<group>``, whose records go by event type to ``fns``:
        module-level functions ``async def f(event: SomeEvent, ctx: HandlerContext)``, the
        type(s) read from the first parameter's annotation (``A | B`` for several). Events of
        one group keep their order per key (one receipt's events), so functions that must see
        each other's effects in order belong to one group."""
        if not fns:
            raise TypeError("a consumer group needs at least one handler")
        routes: dict[str, HandlerFn] = {}
        types: dict[str, type[Event]] = {}
        for fn in fns:
            for t in event_types_of(fn):
                if t.ce_type() in routes:
                    raise TypeError(f"{group}: two handlers for {t.__name__}")
                routes[t.ce_type()] = fn
                types[t.ce_type()] = t
        spec = HandlerSpec(
            name=group,
            fn=None,
            types=types,
            group=f"{self.name}.{group}",
            topics=sorted({t.topic for t in types.values()}),
            routes=routes,
        )
        self._subscribe(spec)
        self.handlers.append(spec)

    def _subscribe(self, spec: HandlerSpec) -> None:
        consumer = Consumer(self, spec)
        committer = OffsetCommitter(spec.group)
        # MANUAL: FastStream neither acks (an awaited commit after every batch) nor nacks; the
        # handler below does both itself: the offsets of a handled batch go to the committer
        # (committed in the background), a failed batch is nacked as NACK_ON_ERROR did.
        subscriber = self.broker.subscriber(
            *spec.topics,
            group_id=spec.group,
            batch=True,
            max_records=self.settings.consumer_batch_size,
            batch_timeout_ms=50,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            listener=committer.rebalance_listener(self.settings.shutdown_grace_seconds),
            title=f"{self.name}.{spec.name}",
        )

        @subscriber
        async def consume(msg: KafkaMessage) -> None:
            raw = msg.raw_message
            records = raw if isinstance(raw, (tuple, list)) else (raw,)
            if committer.closing:  # stopping: left uncommitted, for the next start
                return
            committer.begin_batch()
            handled = False
            try:
                await consumer.handle_records(records)
                handled = True
            except Exception:
                # Rewind each partition to the batch's first record (FastStream's nack), so that
                # it is fetched again; its offsets are never handed to the committer.
                await msg.nack()
                raise
            finally:
                # Only aiokafka's consumer commits (FastStream's test broker has nothing to commit).
                real = handled and isinstance(msg.consumer, AIOKafkaConsumer)
                committer.end_batch(msg.consumer if real else None, records if real else ())

        self._subscribers.append(subscriber)
        self._committers.append(committer)

    def worker(self, fn: Worker | None = None, *, name: str | None = None) -> Any:
        """Register a background coroutine ``fn(service)`` that runs while the service runs
        (watchers, delivery workers). It is cancelled on shutdown."""

        def decorate(f: Worker) -> Worker:
            self._workers.append((name or f.__name__, f))
            return f

        return decorate(fn) if fn is not None else decorate

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, *, kafka: bool = True) -> None:
        logs.service_var.set(self.name)
        self._check_routes()
        await self.db.migrate()
        if kafka and self.uses_kafka:
            for committer in self._committers:
                committer.closing = False
            await self.broker.start()
            self.relay.start()
            self._tasks.append(asyncio.create_task(self._watch_lag(), name="consumer-lag"))
        for name, fn in self._workers:
            self._tasks.append(asyncio.create_task(self._run_worker(name, fn), name=name))
        self.started = True
        log.info("service %s started on %s", self.name, self.settings.public_base_url)

    async def stop(self) -> None:
        """Stop consuming (in-flight handlers finish), stop workers, flush the relay, close."""
        if not self.started:
            return
        self.started = False
        # The batches in flight finish and their offsets are committed while the consumers
        # still run (FastStream's stop would close them right after the batch).
        for committer in self._committers:
            committer.closing = True
        grace = self.settings.shutdown_grace_seconds
        await asyncio.gather(*(c.drain(grace) for c in self._committers), return_exceptions=True)
        for sub in self._subscribers:
            try:
                await sub.stop()
            except Exception:  # noqa: BLE001
                log.warning("subscriber stop failed", exc_info=True)
        for committer in self._committers:
            await committer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.uses_kafka:
            await self.relay.stop(flush=True)
            try:
                await self.broker.stop()
            except Exception:  # noqa: BLE001
                log.warning("broker stop failed", exc_info=True)
        await self.db.dispose()
        log.info("service %s stopped", self.name)

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def _run_worker(self, name: str, fn: Worker) -> None:
        while True:
            try:
                await fn(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a worker must not die silently; restart it
                log.exception("worker %s crashed; restarting in 2s", name)
                await asyncio.sleep(2)

    async def _watch_lag(self) -> None:
        while True:
            await asyncio.sleep(10)
            for sub in self._subscribers:
                consumer = getattr(sub, "consumer", None)
                if consumer is None:
                    continue
                try:
                    for tp in consumer.assignment():
                        high = consumer.highwater(tp)
                        if high is None:
                            continue
                        pos = await consumer.position(tp)
                        self.metrics.consumer_lag.labels(sub.title if hasattr(sub, "title") else "", tp.topic, str(tp.partition)).set(
                            max(0, high - pos)
                        )
                except Exception:  # noqa: BLE001 - best effort gauge
                    log.debug("lag probe failed", exc_info=True)
            if self.uses_kafka:
                await self.relay.refresh_backlog_metrics()
            # Keep the readiness gauge true without waiting for a prober to call /readyz.
            self.metrics.ready.set(1 if (await self.readiness())["ready"] else 0)

    def run(self) -> None:
        """Run the service in the foreground (``python -m services.<name>``)."""
        import uvicorn

        logs.configure(self.name, self.settings.log_level, self.settings.log_json)
        uvicorn.run(
            self.api,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(self.settings.shutdown_grace_seconds),
        )

    # -- health, metrics, route policy ----------------------------------------------------------
    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(self.db.ping(), timeout=3)
            checks["database"] = "ok"
            checks["migrations"] = "ok" if await self.db.migrations_applied() else "pending"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unreachable: {type(exc).__name__}"
            checks["migrations"] = "unknown"
        if not self.uses_kafka:
            checks["ready"] = checks["database"] == "ok" and checks["migrations"] == "ok"
            return checks
        try:
            ok = await self.broker.ping(timeout=3) if self.started else False
        except Exception:  # noqa: BLE001
            ok = False
        checks["kafka"] = "ok" if ok else "disconnected"
        # Connected yet unable to publish (e.g. a producer that keeps failing): events pile up.
        failing = self.relay.failing_for()
        checks["outbox"] = (
            "ok" if failing < self.settings.relay_unready_after_seconds
            else f"failing for {failing:.0f}s: {(self.relay.last_error or '')[:200]}"
        )
        for name, check in self.readiness_checks.items():
            checks[name] = check()
        checks["ready"] = all(checks[k] == "ok" for k in ("database", "migrations", "kafka", "outbox",
                                                          *self.readiness_checks))
        return checks

    def _install_health(self) -> None:
        from .auth import PUBLIC

        @self.api.get("/healthz", tags=["health"], summary="Alive", **PUBLIC)
        async def healthz() -> dict[str, str]:
            return {"status": "alive", "service": self.name}

        @self.api.get("/readyz", tags=["health"], summary="Ready: database, migrations, Kafka, outbox relay", **PUBLIC)
        async def readyz() -> JSONResponse:
            checks = await self.readiness()
            self.metrics.ready.set(1 if checks["ready"] else 0)
            return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

        @self.api.get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False, **PUBLIC)
        async def metrics(request: Request) -> Response:
            body, ctype = self.metrics.render(request.headers.get("accept", ""))
            return Response(body, media_type=ctype)

    def _install_http_metrics(self) -> None:
        # A plain ASGI middleware: Starlette's BaseHTTPMiddleware (``@app.middleware("http")``)
        # cost 0.3-0.8 ms per request in its task group and streams.
        self.api.add_middleware(HttpMetrics, metrics=self.metrics)

    def _check_routes(self) -> None:
        """Every route is either explicitly public or requires a staff token (read from the
        OpenAPI document, where both show: ``x-public`` or a bearer security requirement)."""
        self.api.openapi_schema = None
        schema = self.api.openapi()
        bad = [
            f"{method.upper()} {path}"
            for path, ops in schema.get("paths", {}).items()
            for method, op in ops.items()
            if isinstance(op, dict) and not op.get("x-public") and not op.get("security")
        ]
        if bad:
            raise RuntimeError(f"routes neither public nor authenticated: {bad}")
