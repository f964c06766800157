"""The watcher's batch of clocks at speed: what one clock's row and cards become, worked out by
the domain once per *kind* of clock in a tick and then applied to every clock of that kind.

At a midnight the clocks whose card is due differ mostly in who they are (receipt number, unit,
item); what the domain decides for them -- which cards, the alert columns after -- depends only
on a few stored values. For a clock that runs (no stop, no extension, not decided), with
``now``, the calendar and the thresholds fixed for the tick, :meth:`Clock.check_alerts`,
:func:`store.alert_columns` and :func:`store.changed_alerts` read nothing but the due date, the
statutory due date, the promised limit, the fired cards and whether a yellow card was pending
(:data:`Plan` keys). So the first clock of each such key is checked by the domain itself, exactly
as before, and what it gave becomes the key's :class:`Plan`: the changed columns with their
values already rendered for the batch statement, and per card its payload JSON split around the
three identity fields (filled in per clock; they are pattern-checked ASCII, validated with the
contract's own types, and need no escaping). A plan is only kept when it reproduces the domain's
own payload bytes for the clock it came from. Every other clock (stopped, extended, decided, an
identity the contract would refuse) goes through the domain one by one, as before.

What is written per clock stays the same (proved in ``tests/deadline/test_deadline_rollover.py``
against the domain and ``uow.emit`` on a mixed set of clocks): the same columns and values, the
same outbox rows (ids ``uuid5`` as :func:`shared.derived_id`, topic, key, the headers' JSON text,
the payload bytes), in the same order. The rows are handed to the database as each does best
(:func:`store.write_alert_rows`, :func:`store.add_outbox_values`): SQLite, tuples of values for
its driver's executemany; PostgreSQL, JSON array texts for one ``jsonb`` parameter a statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contracts.base import Event
from contracts.common import ItemCode, ReceiptNo, UnitCode
from contracts.deadline import DeadlineMissed, DeadlineWarned
from services.runtime.workdays import WorkCalendar

from .. import store
from ..domain.clock import OVERDUE, warn_key
from .shared import _NS_BYTES, uuid5_text

# The contract's own validators for the identity fields (the slow path's events validate them too).
_RECEIPT = TypeAdapter(ReceiptNo).validate_python
_UNIT = TypeAdapter(UnitCode).validate_python
_ITEM = TypeAdapter(ItemCode).validate_python
#: Characters a JSON string holds as they are (no escape; ASCII): what may be pasted between segments.
_PLAIN = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+").fullmatch
#: Stand-ins for the identity fields while a plan's payloads are dumped (control characters:
#: JSON escapes them, so their escaped form cannot occur anywhere else in a payload).
_STAND_INS = {"receipt_no": "\x01", "unit_code": "\x02", "item_code": "\x03"}
_SPLIT = re.compile(r"\\u000([123])")
_FIELD_OF = {"1": 0, "2": 1, "3": 2}  # which of (receipt_no, unit_code, item_code)

@dataclass(slots=True)
class Card:
    """One card of a plan: its class, its key in ``fired`` (the id's last part) and its payload
    as segments around the identity fields, raw and JSON-escaped."""

    cls: type[Event]
    card_key: str
    threshold: int | None
    fields: tuple[int, ...]
    raw: tuple[str, ...]
    escaped: tuple[str, ...]

    def payload(self, ident: Sequence[str]) -> str:
        raw = self.raw
        out = raw[0]
        for i, f in enumerate(self.fields):
            out += ident[f] + raw[i + 1]
        return out


@dataclass(slots=True)
class Plan:
    """What the domain decided for one kind of clock (see the module's docstring)."""

    columns: tuple[str, ...]
    #: The changed alert columns' values: SQLite, as its executemany binds them
    #: (:func:`store.row_value`); PostgreSQL, as JSON array items (``,v1,v2``).
    values: tuple[Any, ...] | str
    cards: tuple[Card, ...]
    due_at: datetime | None
    next_warning_at: datetime | None


def _card(event: Event) -> Card | None:
    """``event``'s payload split around its identity fields; None when it does not reproduce
    ``event``'s own bytes (then the clocks of that kind take the domain's path)."""
    stand_in = event.model_copy(update={k: v for k, v in _STAND_INS.items() if k in type(event).model_fields})
    dumped = stand_in.model_dump_json()
    parts = _SPLIT.split(dumped)
    raw = tuple(parts[0::2])
    fields = tuple(_FIELD_OF[p] for p in parts[1::2])
    card_key = warn_key(event.threshold_days) if isinstance(event, DeadlineWarned) else OVERDUE  # type: ignore[attr-defined]
    threshold = event.threshold_days if isinstance(event, DeadlineWarned) else None  # type: ignore[attr-defined]
    card = Card(type(event), card_key, threshold, fields, raw, tuple(store.json_string(p)[1:-1] for p in raw))
    ident = (event.receipt_no, event.unit_code, event.item_code)  # type: ignore[attr-defined]
    # The rows are joined with the identity fields once each, in this order (Rollover._templates).
    if fields != (0, 1, 2) or card.payload(ident) != event.model_dump_json():
        return None
    return card


@dataclass
class Batch:
    """One transaction's writes, as :func:`store.write_alert_rows` and
    :func:`store.add_outbox_values` take them (SQLite: tuples of values; PostgreSQL: JSON array
    texts), and what to count after the commit."""

    #: Per set of changed columns, each clock's row: ``(<the columns' values>, updated_at, locator)``.
    updates: dict[tuple[str, ...], list[Any]] = field(default_factory=dict)
    #: The outbox rows: :data:`store.OUTBOX_COLUMNS`' values in order.
    cards: list[Any] = field(default_factory=list)
    warnings: dict[int, int] = field(default_factory=dict)
    overdue: int = 0
    nudges: list[datetime | None] = field(default_factory=list)


class Rollover:
    """The plans of one tick (``now``, the thresholds; reset when the calendar changes) and the
    rendering of a batch's rows. ``sqlite``: the dialect the values are rendered for."""

    def __init__(self, now: datetime, thresholds: Sequence[int], sqlite: bool, source: str) -> None:
        self.now = now
        self.thresholds = thresholds
        self.sqlite = sqlite
        self.source = source
        self.cal: WorkCalendar | None = None
        self.plans: dict[tuple[Any, ...], Plan | None] = {}
        self.units: set[str] = set()
        self.items: set[str] = set()
        self._id_hash = hashlib.sha1(_NS_BYTES + b"card|")

    # -- per batch -------------------------------------------------------------------------

    def begin(self, cal: WorkCalendar, ce_time: str, wall: datetime) -> Batch:
        """A new batch: the values it shares (the ``ce_time`` of its cards, the wall instant of
        ``updated_at`` and ``created_at``) rendered once."""
        if cal is not self.cal:
            self.cal, self.plans = cal, {}
        self._wall = store.row_value(self.sqlite, wall)
        self._end = "," + store.json_value(False, wall) + "]"  # PostgreSQL's rows: updated_at / created_at
        self._ce_time = ce_time
        self._rows: dict[int, tuple[str, ...]] = {}
        return Batch()

    def _templates(self, card: Card) -> tuple[str, ...]:
        """The outbox row of ``card`` in this batch as literal segments around the event id (e),
        receipt number (r), unit (u) and item (i), for :meth:`_apply` to join (a ``str.format``
        of the ~1 KB row costs several times as much: it re-reads the JSON's escaped braces).
        SQLite: the topic, the headers' JSON text (as :func:`store.outbox_row` writes it) as
        ``h0 e h1 r h2`` and the payload's as ``p0 r p1 u p2 i p3``. PostgreSQL: the whole JSON
        array text of the row, ``s0 e s1 r s2 e s3 r s4 r s5 u s6 i s7``."""
        tpl = self._rows.get(id(card))
        if tpl is None:
            # JSON escapes the stand-ins (control characters): their escaped form occurs nowhere else.
            text = store.outbox_headers("\x01", self.source, card.cls.ce_type(), self._ce_time, "\x02")
            if self.sqlite:
                head, rest = text.split("\\u0001")
                mid, tail = rest.split("\\u0002")
                tpl = (card.cls.topic, head, mid, tail, *card.raw)
            else:
                # In the row's JSON the headers' text is itself a string: the stand-ins escaped twice.
                head, rest = store.json_string(text).split("\\\\u0001")
                mid, tail = rest.split("\\\\u0002")
                p0, p1, p2, p3 = card.escaped
                tpl = (
                    '["', '",' + store.json_string(card.cls.topic) + ',"', '",' + head, mid, tail + ',"' + p0, p1, p2,
                    p3 + '"' + self._end,
                )
            self._rows[id(card)] = tpl
        return tpl

    def add(self, batch: Batch, values: Sequence[Any]) -> list[Event] | None:
        """Add one due clock (a row of :func:`store.due_clocks`) to ``batch``. Returns None when
        a plan did it, else the events the domain gave (the clock went the domain's way)."""
        (receipt_no, unit_code, item_code, _kind, _accepted_at, promised_days, _statutory_days, _item_version, stops,
         extensions, decided_at, _outcome, fired, due_date, statutory_due_date, _provisional, _cal_version,
         warning_pending) = values[:18]
        locator = values[18:]  # SQLite: (rowid, updated_at as read); PostgreSQL: (ctid,)
        plan = None
        if stops == "[]" and extensions == "[]" and decided_at is None and self._plain(receipt_no, unit_code, item_code):
            key = (due_date, statutory_due_date, promised_days, fired, bool(warning_pending))
            try:
                plan = self.plans[key]
            except KeyError:
                return self._domain(batch, values, key)
        if plan is None:
            return self._domain(batch, values, None)
        self._apply(batch, plan, locator, receipt_no, unit_code, item_code)
        return None

    def _plain(self, receipt_no: str, unit_code: str, item_code: str) -> bool:
        """The identity fields pass the contract's validators and need no JSON escape."""
        try:
            if unit_code not in self.units:
                _UNIT(unit_code)
                if not _PLAIN(unit_code):
                    return False
                self.units.add(unit_code)
            if item_code not in self.items:
                _ITEM(item_code)
                if not _PLAIN(item_code):
                    return False
                self.items.add(item_code)
            _RECEIPT(receipt_no)
        except ValidationError:
            return False
        return _PLAIN(receipt_no) is not None

    def _apply(self, batch: Batch, plan: Plan, locator: Any, receipt_no: str, unit_code: str, item_code: str) -> None:
        cards = batch.cards
        if self.sqlite:
            batch.updates.setdefault(plan.columns, []).append((*plan.values, self._wall, *locator))
        else:  # the locator: the ctid's text "(page,item)", nothing to escape
            batch.updates.setdefault(plan.columns, []).append('["' + locator[0] + '"' + plan.values + self._end)  # type: ignore[operator]
        for card in plan.cards:
            h = self._id_hash.copy()
            h.update((receipt_no + "|" + card.card_key).encode())
            event_id = uuid5_text(h.digest())
            if self.sqlite:
                topic, h0, h1, h2, p0, p1, p2, p3 = self._templates(card)
                cards.append((
                    event_id, topic, receipt_no, "".join((h0, event_id, h1, receipt_no, h2)),
                    "".join((p0, receipt_no, p1, unit_code, p2, item_code, p3)).encode(), self._wall,
                ))
            else:
                s0, s1, s2, s3, s4, s5, s6, s7 = self._templates(card)
                cards.append("".join((
                    s0, event_id, s1, receipt_no, s2, event_id, s3, receipt_no, s4, receipt_no, s5, unit_code, s6,
                    item_code, s7,
                )))
            if card.threshold is None:
                batch.overdue += 1
            else:
                batch.warnings[card.threshold] = batch.warnings.get(card.threshold, 0) + 1
        batch.nudges.append(plan.due_at)
        batch.nudges.append(plan.next_warning_at)

    def _domain(self, batch: Batch, values: Sequence[Any], key: tuple[Any, ...] | None) -> list[Event]:
        """The domain's own path for one clock (and, with ``key``, the plan it makes)."""
        from .watch import card_id  # the card ids' one definition

        assert self.cal is not None
        taken = store.due_clock(values, self.sqlite)
        clock = taken.clock
        old_due_at = clock.due_at()
        events = clock.check_alerts(self.cal, now=self.now, thresholds=self.thresholds)
        alerts = store.alert_columns(clock, self.cal, self.thresholds)
        columns = store.changed_alerts(taken, alerts, old_due_at)
        column_values: tuple[Any, ...] | str
        if self.sqlite:
            column_values = tuple(
                store.json_strings(alerts[c]) if c == "fired" else store.row_value(True, alerts[c]) for c in columns
            )
            batch.updates.setdefault(columns, []).append((*column_values, self._wall, *values[18:]))
        else:
            column_values = "".join(
                "," + (store.json_string(store.json_strings(alerts[c])) if c == "fired" else store.json_value(False, alerts[c]))
                for c in columns
            )
            batch.updates.setdefault(columns, []).append("[" + store.json_value(False, values[18]) + column_values + self._end)
        for e in events:
            row = store.outbox_row(e, card_id(e), self.source, self._ce_time, datetime.min)
            if self.sqlite:
                batch.cards.append((*(row[name] for name in store.OUTBOX_COLUMNS[:-1]), self._wall))
            else:
                batch.cards.append(
                    "[" + ",".join(store.json_value(False, row[name]) for name in store.OUTBOX_COLUMNS[:-1]) + self._end
                )
        batch.nudges.append(alerts["due_at"])
        batch.nudges.append(alerts["next_warning_at"])
        if key is not None:
            cards = tuple(_card(e) for e in events)
            plan = None
            if all(c is not None for c in cards) and all(type(e) in _TOPICS for e in events):
                plan = Plan(columns, column_values, cards, alerts["due_at"], alerts["next_warning_at"])  # type: ignore[arg-type]
            self.plans[key] = plan
        return events


#: The events a plan may hold (the watcher's two cards).
_TOPICS = {cls: cls.topic for cls in (DeadlineWarned, DeadlineMissed)}
