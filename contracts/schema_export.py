"""One JSON Schema per registered event and command, as committed under ``contracts/schemas/``.

Each schema is the Pydantic model's JSON Schema in **validation mode**: what a consumer accepts,
i.e. exactly what :func:`contracts.envelope.parse` enforces on the body. (Serialization mode would
describe what our producers happen to write; a subscriber needs the rule the suite holds itself
to, and validation mode also carries every constraint: patterns, bounds, enums.)

The Pydantic schema is completed with:

- ``$schema`` (JSON Schema 2020-12, Pydantic's dialect) and ``$id`` (``urn:onewindow:schema:<ce_type>``);
- ``x-ce-type``, ``x-source``, ``x-version``, ``x-kind`` (``event`` or ``command``);
- ``x-topic``, ``x-key`` (the field that is the Kafka key and ``ce_subject``), ``x-audience``;
- on every masked field (``MaskedResidentId``, ``MaskedMobile``, ``MaskedName``): ``x-masked`` and
  the ``pattern`` the masking validator enforces, so subscribers can see and check the masking.

Output is canonical (keys sorted, two-space indent, UTF-8, trailing newline), so exporting twice
from the same models gives byte-identical files.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, get_args

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from . import common
from .base import Event, event_types
from .topics import Topic, all_topics, get_topic

#: The package whose modules declare the suite's contracts.
PACKAGE = __name__.rpartition(".")[0]
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:onewindow:schema:"
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
#: The JSON Schema mode the committed schemas are generated in (see the module docstring).
MODE = "validation"


class ContractError(ValueError):
    """A contract that cannot be exported as declared (e.g. its topic is not in the catalog)."""


def _masked_validators() -> dict[Callable[..., Any], tuple[str, str | None]]:
    """Map each masking validator function of ``contracts.common`` to (kind, pattern)."""
    found: dict[Callable[..., Any], tuple[str, str | None]] = {}
    for kind, alias in (
        ("resident_id", common.MaskedResidentId),
        ("mobile", common.MaskedMobile),
        ("name", common.MaskedName),
    ):
        for meta in get_args(alias)[1:]:
            func = getattr(meta, "func", None)
            if func is None:
                continue
            # The validator closes over the compiled pattern it enforces; read it from there so
            # the schema states the very rule the code applies.
            pattern = None
            for value in inspect.getclosurevars(func).nonlocals.values():
                if isinstance(value, re.Pattern):
                    pattern = value.pattern
            found[func] = (kind, pattern)
    return found


_MASKS = _masked_validators()


class OneWindowJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, plus the masking rule made visible on masked fields."""

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        json_schema = super().function_after_schema(schema)
        func = schema.get("function", {}).get("function")
        mask = _MASKS.get(func) if func is not None else None
        if mask is not None:
            kind, pattern = mask
            json_schema = {**json_schema, "x-masked": kind}
            if pattern is not None:
                json_schema["pattern"] = pattern
        return json_schema


def canonical(obj: Any) -> Any:
    """The same JSON value with every object's keys sorted (lists keep their order)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """The committed text of a schema: canonical JSON, UTF-8 (Chinese kept readable), newline."""
    return json.dumps(canonical(obj), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def filename(ce_type: str) -> str:
    return f"{ce_type}.json"


def event_schema(model: type[Event]) -> dict[str, Any]:
    """The JSON Schema of one event or command class, with the contract's metadata."""
    ce_type = model.ce_type()
    try:
        topic = get_topic(model.topic)
    except KeyError:
        raise ContractError(
            f"{ce_type}: topic {model.topic!r} is not in the topic catalog (declare it with contracts.topics.topic)"
        ) from None
    schema = model.model_json_schema(mode=MODE, schema_generator=OneWindowJsonSchema)
    schema.update(
        {
            "$schema": SCHEMA_DIALECT,
            "$id": f"{ID_PREFIX}{ce_type}",
            "title": model.__name__,
            "x-ce-type": ce_type,
            "x-source": model.source,
            "x-version": model.version,
            "x-kind": model.kind,
            "x-topic": model.topic,
            "x-key": model.key_field,
            "x-audience": topic.audience.value,
        }
    )
    return canonical(schema)


def _in_package(module_name: str) -> bool:
    return module_name == PACKAGE or module_name.startswith(PACKAGE + ".")


def suite_event_types() -> dict[str, type[Event]]:
    """The registered events and commands declared in the ``contracts`` package, by ``ce_type``
    (sorted). Tests and examples may register events of their own (the registry is global); those
    are not the suite's contracts and get no schema."""
    return {t: m for t, m in sorted(event_types().items()) if _in_package(m.__module__)}


def suite_topics() -> list[Topic]:
    """The catalog topics declared in the ``contracts`` package (bound to a module-level name, as
    ``CATALOG = topic(...)``), sorted by name; topics declared by tests are left out."""
    declared: set[str] = set()
    for name, module in list(sys.modules.items()):
        if module is not None and _in_package(name):
            declared.update(v.name for v in list(vars(module).values()) if isinstance(v, Topic))
    return [t for t in all_topics() if t.name in declared]


def current_schemas() -> dict[str, dict[str, Any]]:
    """The schema of every event and command of the suite, by ``ce_type`` (sorted)."""
    return {ce_type: event_schema(model) for ce_type, model in suite_event_types().items()}


def committed_schemas(directory: Path = SCHEMAS_DIR) -> dict[str, dict[str, Any]]:
    """The committed schemas, by ``ce_type`` (the file name without ``.json``)."""
    out: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.json")):
        out[path.name[: -len(".json")]] = json.loads(path.read_text(encoding="utf-8"))
    return out


def write_schemas(schemas: dict[str, dict[str, Any]], directory: Path = SCHEMAS_DIR) -> list[Path]:
    """Write each schema whose committed text differs; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ce_type, schema in schemas.items():
        path = directory / filename(ce_type)
        text = dumps(schema)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
