"""The AsyncAPI 3.0 document of the whole suite, built from the topic catalog and the event schemas.

Why not FastStream's generator: FastStream 0.7 documents one message per publisher (a ``oneOf``
of the payloads), leaves message headers out (so the CloudEvents attributes, which are the
envelope here, would be undocumented), names nested models globally (two services' ``Material``
would overwrite each other) and knows nothing of audience or retention. Building the document from
``contracts`` directly gives one message per ``ce_type`` with its headers, a channel per catalog
topic with its Kafka settings, and a deterministic text.

Shape:

- ``channels``: one per topic, the channel id and ``address`` are the topic name; Kafka bindings
  carry partitions, ``retention.ms`` and ``cleanup.policy``; ``x-owner``, ``x-key``, ``x-audience``
  and ``x-dead-letter`` carry the rest of the catalog entry.
- ``components.messages``: one per ``ce_type`` (id = the ``ce_type``), ``headers`` = the
  CloudEvents attributes with ``ce_type`` and ``ce_source`` fixed to the message's, ``payload`` =
  the event's JSON Schema, Kafka message binding ``key`` = the key field.
- ``components.schemas``: each payload (id = ``ce_type``) and the nested models it uses (by class
  name; namespaced as ``<ce_type>.<Name>`` when two events' models of one name differ).
- ``operations``: ``<service>.send.<topic>`` for each service that writes a topic's events;
  for a command topic ``<service>.receive.<topic>`` by the service that executes the commands and
  ``request.<topic>`` for sending them (a command is declared by its executor, any service of the
  suite may send it).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from .envelope import CONTENT_TYPE, REQUIRED_HEADERS, SOURCE_PREFIX, SPECVERSION
from .topics import Topic

ASYNCAPI_PATH = Path(__file__).resolve().parent / "asyncapi.yaml"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
HEADERS_SCHEMA = "CloudEventsHeaders"
#: Component, channel and operation ids allowed by AsyncAPI 3.0.
ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")

DESCRIPTION = """\
Every event and command the OneWindow (一窗受理) services exchange over Kafka.

**Envelope.** CloudEvents 1.0 in Kafka binary mode: the attributes travel as headers (`ce_id`,
`ce_source`, `ce_type`, `ce_specversion`, `ce_time`, `ce_subject`, `content-type`), the body is the
event's JSON. `ce_type` (`onewindow.<service>.<Event>.v<version>`) selects the payload schema;
`ce_id` is unique per event and is the idempotency key: deduplicate on it, a message may arrive
more than once. The Kafka key (the receipt number for a case's events) keeps one case in order.

**Audience.** Topics marked `x-audience: public` may be subscribed by other county bureaus; they
carry no full personal identifiers: resident ID numbers, mobile numbers and persons' names are
masked (`x-masked` on the field, with the pattern). Internal topics are for the suite's own services.

**Versions.** A published version never changes incompatibly; a breaking change is a new
version (a new `ce_type`) published beside the old one while consumers move. Unknown fields must be
ignored: new optional fields may appear in any version.
"""


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors/aliases for repeated sub-structures."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text (descriptions) as literal blocks: readable and diff-friendly.
    style = "|" if "\n" in data and not any(line != line.rstrip() for line in data.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def _app_version() -> str:
    try:
        return metadata.version("onewindow")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def headers_schema() -> dict[str, Any]:
    """The CloudEvents attributes as Kafka headers (from ``contracts.envelope``)."""
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary mode (one header each, UTF-8 text).",
        "required": list(REQUIRED_HEADERS),
        "properties": {
            "ce_id": {
                "type": "string",
                "description": "Unique id of this event (a UUID). The idempotency key: a consumer "
                "processes each ce_id once.",
            },
            "ce_source": {
                "type": "string",
                "pattern": f"^{re.escape(SOURCE_PREFIX)}[a-z_]+$",
                "description": f"The producing service, `{SOURCE_PREFIX}<service>`.",
            },
            "ce_type": {
                "type": "string",
                "description": "`onewindow.<service>.<Event>.v<version>`: selects the payload schema.",
            },
            "ce_specversion": {"type": "string", "const": SPECVERSION, "description": "CloudEvents version."},
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "When the event happened (ISO 8601 with offset); always set by the suite.",
            },
            "ce_subject": {
                "type": "string",
                "description": "The event's key value (e.g. the receipt number), when it has one.",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE, "description": "Media type of the body."},
        },
    }


def _deep_key(defs_by_type: dict[str, dict[str, Any]], ce_type: str, name: str, stack: tuple[str, ...]) -> str:
    """A text that is equal for two nested models exactly when they validate alike, refs included."""
    if name in stack:
        return json.dumps({"$cycle": name})
    node = defs_by_type[ce_type][name]

    def expand(v: Any) -> Any:
        if isinstance(v, dict):
            ref = v.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                inner = ref[len("#/$defs/"):]
                rest = {k: expand(x) for k, x in v.items() if k != "$ref"}
                return {**rest, "$ref": _deep_key(defs_by_type, ce_type, inner, stack + (name,))}
            return {k: expand(x) for k, x in v.items()}
        if isinstance(v, list):
            return [expand(x) for x in v]
        return v

    return json.dumps(expand(node), sort_keys=True, ensure_ascii=False)


def _rewrite_refs(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = _ref("components", "schemas", mapping[v[len("#/$defs/"):]])["$ref"]
            else:
                out[k] = _rewrite_refs(v, mapping)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(v, mapping) for v in value]
    return value


def _component_schemas(schemas: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Move every event's ``$defs`` into components; returns (components.schemas, per-ce_type
    mapping of def name -> component id)."""
    defs_by_type = {t: dict(s.get("$defs", {})) for t, s in schemas.items()}
    variants: dict[str, set[str]] = {}
    for t, defs in defs_by_type.items():
        for name in defs:
            variants.setdefault(name, set()).add(_deep_key(defs_by_type, t, name, ()))
    mapping: dict[str, dict[str, str]] = {}
    for t, defs in defs_by_type.items():
        mapping[t] = {name: name if len(variants[name]) == 1 else f"{t}.{name}" for name in defs}
    components: dict[str, Any] = {}
    for t in sorted(defs_by_type):
        for name, node in sorted(defs_by_type[t].items()):
            components.setdefault(mapping[t][name], _rewrite_refs(node, mapping[t]))
    for t, schema in schemas.items():
        payload = {k: v for k, v in schema.items() if k not in ("$defs", "$schema", "$id")}
        if t in components:
            raise ValueError(f"a nested model is named like the event type {t}")
        components[t] = _rewrite_refs(payload, mapping[t])
    return components, mapping


def _channel(topic: Topic, message_ids: list[str]) -> dict[str, Any]:
    cleanup = ["compact"] if topic.compacted else ["delete"]
    audience = topic.audience.value
    desc = topic.description or topic.name
    desc += (
        f"\n\nAudience: {audience}"
        + (" (other county bureaus may subscribe)." if topic.public else " (the suite's own services only).")
        + f" Written by {topic.owner}. Dead letters: `{topic.dlq}`."
    )
    channel: dict[str, Any] = {
        "address": topic.name,
        "title": topic.name,
        "description": desc,
        "messages": {m: _ref("components", "messages", m) for m in message_ids},
        "tags": [{"name": audience}, {"name": topic.owner}],
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": {"cleanup.policy": cleanup, "retention.ms": topic.retention_ms},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-owner": topic.owner,
        "x-key": topic.key,
        "x-audience": audience,
        "x-dead-letter": topic.dlq,
    }
    return channel


def _message(ce_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    source = schema["x-source"]
    key = schema.get("x-key")
    doc = (schema.get("description") or "").strip()
    msg: dict[str, Any] = {
        "name": schema["title"],
        "title": f"{schema['title']} (v{schema['x-version']})",
        "summary": doc.splitlines()[0] if doc else schema["title"],
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                _ref("components", "schemas", HEADERS_SCHEMA),
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"type": "string", "const": ce_type},
                        "ce_source": {"type": "string", "const": f"{SOURCE_PREFIX}{source}"},
                    },
                },
            ]
        },
        "payload": _ref("components", "schemas", ce_type),
        "tags": [{"name": source}, {"name": schema["x-kind"]}],
        "x-ce-type": ce_type,
        "x-kind": schema["x-kind"],
        "x-version": schema["x-version"],
    }
    if doc and doc != msg["summary"]:
        msg["description"] = doc
    if key:
        msg["bindings"] = {
            "kafka": {
                "key": {"type": "string", "description": f"The event's `{key}` (also `ce_subject`)."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        }
    return msg


def build_document(schemas: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The AsyncAPI document (a plain dict) for the given schemas (default: every registered
    event's current schema)."""
    if schemas is None:
        from .schema_export import current_schemas

        schemas = current_schemas()
    from .schema_export import suite_topics

    schemas = dict(sorted(schemas.items()))
    topics = suite_topics()
    by_topic: dict[str, list[str]] = {t.name: [] for t in topics}
    for ce_type, schema in schemas.items():
        by_topic.setdefault(schema["x-topic"], []).append(ce_type)

    channels = {t.name: _channel(t, by_topic[t.name]) for t in topics}
    operations: dict[str, Any] = {}
    for t in topics:
        senders: dict[str, list[str]] = {}
        commands: list[str] = []
        for ce_type in by_topic[t.name]:
            senders.setdefault(schemas[ce_type]["x-source"], []).append(ce_type)
            if schemas[ce_type]["x-kind"] == "command":
                commands.append(ce_type)
        for service in sorted(senders):
            events = [m for m in senders[service] if schemas[m]["x-kind"] != "command"]
            requests = [m for m in senders[service] if schemas[m]["x-kind"] == "command"]
            if requests and service == t.owner:
                # A command declared by the service that executes it: any service of the suite may
                # send it, so the sender is not one service.
                operations[f"request.{t.name}"] = {
                    "action": "send",
                    "channel": _ref("channels", t.name),
                    "title": f"a service of the suite asks {t.owner} to act",
                    "messages": [_ref("channels", t.name, "messages", m) for m in requests],
                }
                if not events:
                    continue
                senders[service] = events
            operations[f"{service}.send.{t.name}"] = {
                "action": "send",
                "channel": _ref("channels", t.name),
                "title": f"{service} publishes to {t.name}",
                "messages": [_ref("channels", t.name, "messages", m) for m in senders[service]],
                "tags": [{"name": service}],
            }
        if commands:
            operations[f"{t.owner}.receive.{t.name}"] = {
                "action": "receive",
                "channel": _ref("channels", t.name),
                "title": f"{t.owner} executes the commands of {t.name}",
                "messages": [_ref("channels", t.name, "messages", m) for m in commands],
                "tags": [{"name": t.owner}],
            }

    component_schemas, _ = _component_schemas(schemas)
    if HEADERS_SCHEMA in component_schemas:
        raise ValueError(f"a nested model may not be named {HEADERS_SCHEMA}")
    component_schemas[HEADERS_SCHEMA] = headers_schema()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:onewindow:events",
        "info": {
            "title": "OneWindow (一窗受理) events",
            "version": _app_version(),
            "description": DESCRIPTION,
            "tags": [{"name": s} for s in sorted({t.owner for t in topics})],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "county": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The county data center's Kafka cluster (Apache Kafka 4.x, KRaft).",
                "variables": {
                    "bootstrap": {
                        "description": "Bootstrap server host:port as given by the data center's "
                        "operators (the services read it from KAFKA_BOOTSTRAP_SERVERS).",
                    }
                },
            }
        },
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": {t: _message(t, s) for t, s in schemas.items()},
            "schemas": dict(sorted(component_schemas.items())),
        },
    }


def render(document: dict[str, Any]) -> str:
    """The committed YAML text (stable: same document, same text)."""
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )


# ------------------------------------------------------------------------------------ validation


def _walk_refs(value: Any, path: str = "#"):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from _walk_refs(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_refs(v, f"{path}/{i}")


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def validate(doc: dict[str, Any]) -> list[str]:
    """Structural problems of an AsyncAPI 3.0 document as this module builds it (empty: fine).

    Checks the version, required sections, ids, that every ``$ref`` resolves, that operations
    point at their channel's messages, and that every schema is a valid JSON Schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    problems: list[str] = []
    if doc.get("asyncapi") != ASYNCAPI_VERSION:
        problems.append(f"asyncapi is {doc.get('asyncapi')!r}, expected {ASYNCAPI_VERSION}")
    info = doc.get("info") or {}
    if not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
        problems.append("info.title and info.version must be strings")
    for section in ("channels", "operations", "components"):
        if not isinstance(doc.get(section), dict):
            problems.append(f"{section} missing")
    if problems:
        return problems
    components = doc["components"]
    for section in ("messages", "schemas"):
        if not isinstance(components.get(section), dict):
            problems.append(f"components.{section} missing")
            return problems

    for where, ref in _walk_refs(doc):
        try:
            _resolve(doc, ref)
        except (KeyError, IndexError, TypeError):
            problems.append(f"{where}: $ref {ref} does not resolve")

    for kind, mapping in (("channel", doc["channels"]), ("operation", doc["operations"]),
                          ("message", components["messages"]), ("schema", components["schemas"])):
        for key in mapping:
            if not ID_RE.match(key):
                problems.append(f"{kind} id {key!r} is not allowed by AsyncAPI")

    for name, channel in doc["channels"].items():
        if not isinstance(channel.get("address"), str):
            problems.append(f"channel {name}: no address")
        for msg_id, msg in (channel.get("messages") or {}).items():
            if "$ref" not in msg and "payload" not in msg:
                problems.append(f"channel {name}: message {msg_id} has no payload")

    for name, op in doc["operations"].items():
        if op.get("action") not in ("send", "receive"):
            problems.append(f"operation {name}: action must be send or receive")
        channel_ref = (op.get("channel") or {}).get("$ref", "")
        if not channel_ref.startswith("#/channels/"):
            problems.append(f"operation {name}: channel must reference #/channels/...")
            continue
        for m in op.get("messages", []):
            if not m.get("$ref", "").startswith(channel_ref + "/messages/"):
                problems.append(f"operation {name}: message {m.get('$ref')} is not one of its channel's")

    for msg_id, msg in components["messages"].items():
        if "payload" not in msg:
            problems.append(f"message {msg_id}: no payload")
        headers = msg.get("headers")
        if headers is not None:
            try:
                resolved = _resolve(doc, headers["$ref"]) if "$ref" in headers else headers
            except KeyError:
                continue  # reported above
            if "allOf" not in resolved and resolved.get("type") != "object":
                problems.append(f"message {msg_id}: headers must be an object schema")

    for name, schema in components["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"schema {name}: not a valid JSON Schema: {exc.message}")
    return problems


@functools.lru_cache(maxsize=4)
def _text_and_problems(key: str) -> tuple[str, tuple[str, ...]]:
    document = build_document(json.loads(key)["schemas"])
    return render(document), tuple(validate(document))


def text_and_problems(schemas: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    """(rendered text, :func:`validate` problems) of the document for these schemas. Cached on the
    schemas and the topic catalog: rendering and validating take most of a second in pure Python,
    and ``check`` runs often in the tests."""
    from .schema_export import suite_topics

    key = json.dumps({"schemas": schemas, "topics": [repr(t) for t in suite_topics()]},
                     sort_keys=True, ensure_ascii=False)
    text, problems = _text_and_problems(key)
    return text, list(problems)


def load(path: Path = ASYNCAPI_PATH) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
