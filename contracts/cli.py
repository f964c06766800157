"""``onewindow contracts export|check``: keep the committed schemas and AsyncAPI document in step
with the models.

Run directly as ``python -m contracts.cli export`` (the lead's ``onewindow`` command mounts
:data:`contracts_app` as ``onewindow contracts``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from . import asyncapi
from .compat import REGENERATE, check as check_contracts, compare
from .schema_export import SCHEMAS_DIR, committed_schemas, current_schemas, filename, write_schemas

contracts_app = typer.Typer(
    name="contracts",
    help="Event contracts: JSON Schemas, the AsyncAPI document and the compatibility check.",
    no_args_is_help=True,
    add_completion=False,
)

SchemasOpt = typer.Option(SCHEMAS_DIR, "--schemas", help="Directory of the committed JSON Schemas.")
AsyncapiOpt = typer.Option(asyncapi.ASYNCAPI_PATH, "--asyncapi", help="Path of the AsyncAPI document.")


@contracts_app.command()
def export(
    schemas: Path = SchemasOpt,
    asyncapi_path: Path = AsyncapiOpt,
    force: bool = typer.Option(
        False, "--force", help="Overwrite a committed schema even with an incompatible change "
        "(only for a version that was never published)."
    ),
    prune: bool = typer.Option(
        False, "--prune", help="Delete committed schemas that no model declares (only if never published)."
    ),
) -> None:
    """Write contracts/schemas/<ce_type>.json for every event and command, and asyncapi.yaml."""
    current = current_schemas()
    committed = committed_schemas(schemas)
    breaking = [f for t, s in current.items() if t in committed for f in compare(committed[t], s, t)]
    if breaking and not force:
        for f in breaking:
            typer.echo(f"incompatible: {f}", err=True)
        typer.echo(
            "Refusing to overwrite published schemas with incompatible changes: publish a new version "
            "(version=2) instead, or pass --force if this version was never published.",
            err=True,
        )
        raise typer.Exit(1)
    written = write_schemas(current, schemas)
    for path in written:
        typer.echo(f"wrote {path}")
    extras = sorted(set(committed) - set(current))
    for t in extras:
        path = schemas / filename(t)
        if prune:
            path.unlink()
            typer.echo(f"deleted {path} (no model declares {t})")
        else:
            typer.echo(f"kept {path}: no model declares {t} (use --prune if it was never published)", err=True)
    text, problems = asyncapi.text_and_problems(current)
    for problem in problems:
        typer.echo(f"asyncapi: {problem}", err=True)
    if not asyncapi_path.exists() or asyncapi_path.read_text(encoding="utf-8") != text:
        asyncapi_path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {asyncapi_path}")
    typer.echo(f"{len(current)} event types, {len(written)} schema file(s) updated")
    if problems:
        raise typer.Exit(1)


@contracts_app.command()
def check(schemas: Path = SchemasOpt, asyncapi_path: Path = AsyncapiOpt) -> None:
    """Fail (exit 1) on an incompatible change, or when committed files are missing or stale."""
    report = check_contracts(schemas, asyncapi_path)
    if report.ok:
        typer.echo("contracts: committed schemas and AsyncAPI document match the models")
        return
    for line in report.lines():
        typer.echo(line, err=True)
    if report.missing or report.outdated or report.asyncapi_outdated:
        typer.echo(f"fix: {REGENERATE}", err=True)
    if report.orphaned:
        typer.echo(f"fix (only if never published): {REGENERATE} --prune", err=True)
    raise typer.Exit(1)


if __name__ == "__main__":
    contracts_app()
