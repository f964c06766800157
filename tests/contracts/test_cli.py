"""`onewindow contracts export|check` on copies of the committed files in a temporary directory
(the repository's files are never touched here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.cli import contracts_app
from contracts.schema_export import SCHEMAS_DIR, current_schemas

runner = CliRunner()
CE_TYPES = sorted(current_schemas())


def run(*args: str):
    return runner.invoke(contracts_app, list(args))


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    schemas = tmp_path / "schemas"
    asyncapi = tmp_path / "asyncapi.yaml"
    result = run("export", "--schemas", str(schemas), "--asyncapi", str(asyncapi))
    assert result.exit_code == 0, result.output
    return schemas, asyncapi


def args(tree: tuple[Path, Path]) -> list[str]:
    return ["--schemas", str(tree[0]), "--asyncapi", str(tree[1])]


def test_export_writes_every_schema_and_the_asyncapi_document(tree):
    schemas, asyncapi = tree
    assert sorted(p.name for p in schemas.glob("*.json")) == [f"{t}.json" for t in CE_TYPES]
    assert asyncapi.read_text(encoding="utf-8").startswith("asyncapi: 3.0.0\n")
    # the export in the temporary tree is byte-identical to the committed one
    for t in CE_TYPES:
        assert (schemas / f"{t}.json").read_bytes() == (SCHEMAS_DIR / f"{t}.json").read_bytes()


def test_export_twice_changes_nothing(tree):
    before = {p.name: p.read_bytes() for p in tree[0].glob("*.json")}
    result = run("export", *args(tree))
    assert result.exit_code == 0
    assert "0 schema file(s) updated" in result.output
    assert {p.name: p.read_bytes() for p in tree[0].glob("*.json")} == before


def test_check_passes_on_a_fresh_export(tree):
    result = run("check", *args(tree))
    assert result.exit_code == 0, result.output
    assert "match the models" in result.output


def test_check_fails_on_a_missing_schema(tree):
    (tree[0] / f"{CE_TYPES[0]}.json").unlink()
    result = run("check", *args(tree))
    assert result.exit_code == 1
    assert f"missing: no committed schema for {CE_TYPES[0]}" in result.output
    assert "contracts.cli export" in result.output


def _edit(path: Path, change) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, indent=2, ensure_ascii=False), encoding="utf-8")


def test_check_fails_on_a_compatible_but_stale_schema(tree):
    _edit(tree[0] / f"{CE_TYPES[0]}.json", lambda s: s.update(description="an older wording"))
    result = run("check", *args(tree))
    assert result.exit_code == 1
    assert f"out of date: schemas/{CE_TYPES[0]}.json" in result.output
    assert "incompatible" not in result.output


def test_check_and_export_refuse_an_incompatible_change(tree):
    # The committed (published) version had a field the model no longer has: the model removed it.
    path = tree[0] / f"{CE_TYPES[0]}.json"
    _edit(path, lambda s: s["properties"].update(legacy_code={"type": "string"}))
    result = run("check", *args(tree))
    assert result.exit_code == 1
    assert f"incompatible: {CE_TYPES[0]}: field 'legacy_code': field removed" in result.output

    stale = path.read_bytes()
    result = run("export", *args(tree))
    assert result.exit_code == 1
    assert "Refusing to overwrite" in result.output
    assert path.read_bytes() == stale

    result = run("export", "--force", *args(tree))
    assert result.exit_code == 0
    assert run("check", *args(tree)).exit_code == 0


def test_orphaned_schema_fails_check_and_is_pruned_only_on_request(tree):
    orphan = tree[0] / "onewindow.intake.RemovedLongAgo.v1.json"
    orphan.write_text(json.dumps({"type": "object", "properties": {}}), encoding="utf-8")
    result = run("check", *args(tree))
    assert result.exit_code == 1 and "orphaned: schemas/onewindow.intake.RemovedLongAgo.v1.json" in result.output
    assert run("export", *args(tree)).exit_code == 0
    assert orphan.exists()
    assert run("export", "--prune", *args(tree)).exit_code == 0
    assert not orphan.exists()


def test_check_fails_on_a_stale_asyncapi_document(tree):
    tree[1].write_text(tree[1].read_text(encoding="utf-8").replace("partitions: 3", "partitions: 4", 1),
                       encoding="utf-8")
    result = run("check", *args(tree))
    assert result.exit_code == 1
    assert "asyncapi.yaml differs" in result.output


def test_module_entry_point_matches_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "contracts" / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/python -m contracts.cli export" in readme
