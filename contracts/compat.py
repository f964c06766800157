"""The compatibility checker: a published version of an event never changes incompatibly.

:func:`compare` takes the committed JSON Schema of one ``ce_type`` and the schema the model gives
now, and lists every change that would break somebody. Topics keep messages for weeks to years and
other county bureaus upgrade on their own schedule, so a change must hold **both ways**:

- a consumer built on the *new* model must still read messages already on the topic (written to the
  old schema): removing an enum value, narrowing a type, making an optional field required or adding
  a required field breaks it;
- a consumer still on the *old* model must read what producers write now: removing a field, adding
  an enum value, widening a type or allowing ``null`` breaks it.

What passes: adding an optional field (consumers ignore unknown fields, ``extra="ignore"``), and
changes to titles, descriptions, examples and defaults. Anything else needs a new version: declare
the class again with ``version=2`` (a new ``ce_type`` and a new schema file) and publish both while
consumers move.

Nested models (``$defs``/``$ref``) are compared by structure, not by name: renaming a nested class
changes nothing on the wire and is not a finding; changing what it contains is.

:func:`check` runs the comparison for every registered event against ``contracts/schemas/`` and
also reports missing, out-of-date and orphaned files and a stale AsyncAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Keywords that only document: changing them breaks nobody.
ANNOTATIONS = frozenset(
    {
        "title", "description", "examples", "example", "default", "deprecated", "readOnly",
        "writeOnly", "$comment", "$schema", "$id", "discriminator", "x-masked",
    }
)
#: Validation keywords compared by value: a change either way rejects somebody's messages.
CONSTRAINTS = (
    "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties",
    "maxProperties", "contentEncoding", "contentMediaType",
)
#: The contract metadata the exporter adds at the root (see ``schema_export``).
METADATA = ("x-topic", "x-key", "x-audience", "x-kind")

#: The regeneration command, as the messages name it (``onewindow contracts export`` is the same).
REGENERATE = ".venv/bin/python -m contracts.cli export"
_RUN = f"run `onewindow contracts export` (or `{REGENERATE}`)"


@dataclass(frozen=True, order=True)
class Finding:
    """One incompatible change. ``path`` names the field (``applicant.masked_mobile``,
    ``missing[].code``; empty for the event itself)."""

    ce_type: str
    path: str
    change: str   # short code: removed, retyped, made_required, new_required, enum, ...
    detail: str

    def __str__(self) -> str:
        where = f"field '{self.path}'" if self.path else "event"
        return f"{self.ce_type}: {where}: {self.detail}"


def _field_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(node: dict[str, Any]) -> str:
    """A short human description of a (resolved) schema node for findings."""
    if "const" in node:
        return f"const {node['const']!r}"
    if "enum" in node:
        return f"enum {node['enum']!r}"
    t = node.get("type")
    if t is None:
        if "properties" in node:
            return "object"
        return "any" if not node else "schema"
    s = "/".join(t) if isinstance(t, list) else t
    if "format" in node:
        s += f" ({node['format']})"
    if s == "object" and node.get("title"):
        s += f" {node['title']}"
    return s


class _Comparer:
    def __init__(self, old_doc: dict[str, Any], new_doc: dict[str, Any], ce_type: str) -> None:
        self.old_doc = old_doc
        self.new_doc = new_doc
        self.ce_type = ce_type
        self.findings: list[Finding] = []
        self._active: set[tuple[int, int]] = set()

    # -- helpers ----------------------------------------------------------------------------

    def add(self, path: str, change: str, detail: str) -> None:
        self.findings.append(Finding(self.ce_type, path, change, detail))

    @staticmethod
    def _pointer(doc: dict[str, Any], ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = doc
        for part in ref[1:].split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` (siblings next to it are annotations in Pydantic's output) and unwrap a
        one-element ``allOf``; the result is the node that validates."""
        seen = 0
        while True:
            if "$ref" in node:
                target = self._pointer(doc, node["$ref"])
                extra = {k: v for k, v in node.items() if k != "$ref" and k not in ANNOTATIONS}
                node = {**target, **extra} if extra else target
            elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                rest = {k: v for k, v in node.items() if k != "allOf"}
                node = {**node["allOf"][0], **rest}
            else:
                return node
            seen += 1
            if seen > 64:
                raise ValueError("$ref cycle without content")

    def split(self, doc: dict[str, Any], node: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
        """(accepts null, the non-null alternatives) of a node: ``Optional[X]`` is ``anyOf`` of
        X and null in Pydantic's output."""
        node = self.resolve(doc, node)
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                nullable = False
                branches: list[dict[str, Any]] = []
                for branch in node[key]:
                    b_null, b_branches = self.split(doc, branch)
                    nullable = nullable or b_null
                    branches.extend(b_branches)
                return nullable, branches
        t = node.get("type")
        if t == "null":
            return True, []
        if isinstance(t, list) and "null" in t:
            rest = [x for x in t if x != "null"]
            if not rest:
                return True, []
            return True, [{**node, "type": rest[0] if len(rest) == 1 else rest}]
        return False, [node]

    # -- comparison -------------------------------------------------------------------------

    def compare(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        key = (id(old), id(new))
        if key in self._active:  # a recursive model: this pair is already being compared
            return
        self._active.add(key)
        try:
            self._compare(old, new, path)
        finally:
            self._active.discard(key)

    def _compare(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        o_null, o_branches = self.split(self.old_doc, old)
        n_null, n_branches = self.split(self.new_doc, new)
        if o_null and not n_null:
            self.add(path, "not_nullable", "no longer accepts null (messages already on the topic may hold null)")
        elif n_null and not o_null:
            self.add(path, "made_nullable", "now accepts null (consumers on the old schema reject it)")
        if len(o_branches) == 1 and len(n_branches) == 1:
            self._compare_single(o_branches[0], n_branches[0], path)
            return
        self._compare_union(o_branches, n_branches, path)

    def _trial(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether two alternatives are equivalent (no finding between them)."""
        sub = _Comparer(self.old_doc, self.new_doc, self.ce_type)
        sub._active = set(self._active)
        sub.compare(old, new, "")
        return not sub.findings

    def _compare_union(self, olds: list[dict[str, Any]], news: list[dict[str, Any]], path: str) -> None:
        unmatched_new = list(news)
        unmatched_old = []
        for o in olds:
            match = next((n for n in unmatched_new if self._trial(o, n)), None)
            if match is None:
                unmatched_old.append(o)
            else:
                unmatched_new.remove(match)
        if len(unmatched_old) == 1 and len(unmatched_new) == 1:
            # One alternative changed: say how, field by field.
            self._compare_single(unmatched_old[0], unmatched_new[0], path)
            return
        for o in unmatched_old:
            self.add(path, "union_removed", f"no longer accepts {_describe(o)}")
        for n in unmatched_new:
            self.add(path, "union_added", f"now also accepts {_describe(n)} (consumers on the old schema reject it)")

    def _compare_single(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        o_type, n_type = old.get("type"), new.get("type")
        if o_type != n_type:
            self.add(path, "retyped", f"type changed from {_describe(old)} to {_describe(new)}")
            return
        if old.get("format") != new.get("format"):
            self.add(path, "retyped", f"format changed from {old.get('format')!r} to {new.get('format')!r}")
        self._compare_values(old, new, path)
        for kw in CONSTRAINTS:
            if old.get(kw) != new.get(kw):
                self.add(path, "constraint", f"{kw} changed from {old.get(kw)!r} to {new.get(kw)!r}")
        if o_type == "object" or "properties" in old or "properties" in new:
            self._compare_object(old, new, path)
        if o_type == "array" or "items" in old or "items" in new:
            self._compare_array(old, new, path)

    def _compare_values(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        if "const" in old or "const" in new:
            if old.get("const", ...) != new.get("const", ...):
                self.add(path, "retyped", f"constant changed from {old.get('const')!r} to {new.get('const')!r}")
        if "enum" in old or "enum" in new:
            if "enum" not in new:
                self.add(path, "enum", "no longer restricted to an enumeration (consumers on the old schema reject other values)")
                return
            if "enum" not in old:
                self.add(path, "enum", "now restricted to an enumeration (messages already on the topic may hold other values)")
                return
            o_vals, n_vals = list(old["enum"]), list(new["enum"])
            removed = [v for v in o_vals if v not in n_vals]
            added = [v for v in n_vals if v not in o_vals]
            if removed:
                self.add(path, "enum", f"enum values removed: {', '.join(map(repr, removed))}")
            if added:
                self.add(
                    path, "enum",
                    f"enum values added: {', '.join(map(repr, added))} (consumers on the old schema reject them)",
                )

    def _compare_object(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        o_props: dict[str, Any] = old.get("properties", {})
        n_props: dict[str, Any] = new.get("properties", {})
        o_req, n_req = set(old.get("required", [])), set(new.get("required", []))
        for name in o_props:
            p = _field_path(path, name)
            if name not in n_props:
                self.add(p, "removed", "field removed")
                continue
            if name not in o_req and name in n_req:
                self.add(p, "made_required", "optional field made required")
            elif name in o_req and name not in n_req:
                self.add(p, "made_optional", "required field made optional (consumers on the old schema need it)")
            self.compare(o_props[name], n_props[name], p)
        for name in n_props:
            if name not in o_props and name in n_req:
                self.add(_field_path(path, name), "new_required", "new required field")
        o_ap, n_ap = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if isinstance(o_ap, dict) and isinstance(n_ap, dict):
            self.compare(o_ap, n_ap, f"{path}{{}}" if path else "{}")
        elif o_ap != n_ap:
            self.add(path, "additional_properties",
                     f"additionalProperties changed from {_describe_ap(o_ap)} to {_describe_ap(n_ap)}")

    def _compare_array(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        o_prefix, n_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        if len(o_prefix) != len(n_prefix):
            self.add(path, "retyped", f"tuple length changed from {len(o_prefix)} to {len(n_prefix)}")
        for i, (o, n) in enumerate(zip(o_prefix, n_prefix)):
            self.compare(o, n, f"{path}[{i}]")
        o_items, n_items = old.get("items", {}), new.get("items", {})
        if isinstance(o_items, dict) and isinstance(n_items, dict):
            self.compare(o_items, n_items, f"{path}[]")
        elif o_items != n_items:
            self.add(path, "retyped", "array items changed")


def _describe_ap(value: Any) -> str:
    if value is True:
        return "any extra field"
    if value is False:
        return "no extra field"
    return _describe(value)


def compare(old: dict[str, Any], new: dict[str, Any], ce_type: str | None = None) -> list[Finding]:
    """Every backward- or forward-incompatible change from the ``old`` (committed) JSON Schema to
    the ``new`` one. An empty list means the new schema may replace the old under the same
    version."""
    name = ce_type or str(new.get("x-ce-type") or old.get("x-ce-type") or new.get("title") or "?")
    comparer = _Comparer(old, new, name)
    for key in METADATA:
        if key in old and old.get(key) != new.get(key):
            if key == "x-audience" and new.get(key) == "public":
                continue  # internal -> public: every old consumer keeps access
            comparer.add("", key[2:], f"{key[2:]} changed from {old.get(key)!r} to {new.get(key)!r}")
    comparer.compare(old, new, "")
    return sorted(set(comparer.findings), key=lambda f: (f.path, f.change, f.detail))


def compare_models(old: type, new: type) -> list[Finding]:
    """Compare two Pydantic models directly (as the exporter would see them)."""
    from .schema_export import MODE, OneWindowJsonSchema

    o = old.model_json_schema(mode=MODE, schema_generator=OneWindowJsonSchema)  # type: ignore[attr-defined]
    n = new.model_json_schema(mode=MODE, schema_generator=OneWindowJsonSchema)  # type: ignore[attr-defined]
    return compare(o, n, ce_type=getattr(new, "__name__", "?"))


# -------------------------------------------------------------------------------- repository check


@dataclass
class CheckReport:
    """The state of the committed contracts against the models."""

    incompatible: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # ce_types without a committed schema
    outdated: list[str] = field(default_factory=list)    # compatible, but the file differs
    orphaned: list[str] = field(default_factory=list)    # committed schemas no model declares
    asyncapi_outdated: bool = False
    asyncapi_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.incompatible or self.missing or self.outdated or self.orphaned
                    or self.asyncapi_outdated or self.asyncapi_problems)

    def lines(self) -> list[str]:
        out = [f"incompatible: {f}" for f in self.incompatible]
        out += [f"missing: no committed schema for {t} (a new type: {_RUN})" for t in self.missing]
        out += [f"out of date: schemas/{t}.json differs from the model (compatible: {_RUN})"
                for t in self.outdated]
        out += [
            f"orphaned: schemas/{t}.json has no model: a published type was removed or renamed; "
            "keep the class (publish the new version beside it), or delete the file if it was never published"
            for t in self.orphaned
        ]
        if self.asyncapi_outdated:
            out.append(f"out of date: asyncapi.yaml differs from the contracts ({_RUN})")
        out += [f"asyncapi: {p}" for p in self.asyncapi_problems]
        return out


def check(schemas_dir: Path | None = None, asyncapi_path: Path | None = None) -> CheckReport:
    """Compare every event and command of the suite with the committed files."""
    from . import asyncapi
    from .schema_export import SCHEMAS_DIR, committed_schemas, current_schemas, dumps, filename

    schemas_dir = schemas_dir or SCHEMAS_DIR
    asyncapi_path = asyncapi_path or asyncapi.ASYNCAPI_PATH
    report = CheckReport()
    current = current_schemas()
    committed = committed_schemas(schemas_dir)
    for ce_type, schema in current.items():
        old = committed.get(ce_type)
        if old is None:
            report.missing.append(ce_type)
            continue
        findings = compare(old, schema, ce_type)
        if findings:
            report.incompatible.extend(findings)
        elif (schemas_dir / filename(ce_type)).read_text(encoding="utf-8") != dumps(schema):
            report.outdated.append(ce_type)
    report.orphaned = sorted(set(committed) - set(current))
    text, report.asyncapi_problems = asyncapi.text_and_problems(current)
    if not asyncapi_path.exists() or asyncapi_path.read_text(encoding="utf-8") != text:
        report.asyncapi_outdated = True
    return report
