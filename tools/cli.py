"""The `onewindow` command."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from contracts.cli import contracts_app
from contracts.common import Role

from services.runtime.settings import ServiceSettings
from tools.deploy_gen import deploy_app
from tools.image import image_app
from tools.kafka_local import kafka_app
from tools.registry import REPO_ROOT, SERVICES
from tools import seal_log

app = typer.Typer(
    help="OneWindow (一窗受理): run, operate and inspect the suite.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
console = Console()

# The sub-commands of the broker, the contracts and the deployment manifests.
app.add_typer(kafka_app, name="kafka", help="The local Apache Kafka broker.")
app.add_typer(contracts_app, name="contracts", help="Event schemas, AsyncAPI, compatibility.")
app.add_typer(deploy_app, name="deploy", help="Deployment manifests generated from the code; topics on a broker.")
app.add_typer(image_app, name="image", help="The container image, built here with podman (air-gapped).")


def _check_service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    return name


def load_service(name: str):  # type: ignore[no-untyped-def]
    """The service's ``create_service()`` (from its ``app.py``)."""
    return importlib.import_module(f"services.{name}.app").create_service()


@app.command()
def up(
    service: list[str] = typer.Argument(None, help="Services to start (default: all five)."),
    wait: float = typer.Option(180, help="Seconds to wait for every /readyz."),
    no_demo: bool = typer.Option(False, "--no-demo", help="Do not load the demo catalog."),
) -> None:
    """Start Kafka (if not running) and the services, wait until ready, print their URLs."""
    from tools import supervisor

    raise typer.Exit(supervisor.up([_check_service(s) for s in service or []] or None, wait=wait, demo=not no_demo))


@app.command()
def down(
    service: list[str] = typer.Argument(None, help="Services to stop (default: all, and Kafka)."),
    keep_kafka: bool = typer.Option(False, help="Leave the Kafka broker running."),
) -> None:
    """Stop the services (and the local Kafka broker)."""
    from tools import supervisor

    raise typer.Exit(supervisor.down([_check_service(s) for s in service or []] or None, kafka=not keep_kafka))


@app.command()
def status() -> None:
    """Show what runs."""
    from tools import supervisor

    raise typer.Exit(supervisor.status())


@app.command()
def serve(name: str = typer.Argument(..., help="The service to run in the foreground.")) -> None:
    """Run one service in the foreground (what `up` starts for each)."""
    load_service(_check_service(name)).run()


@app.command()
def token(
    sub: str = typer.Option(..., help="Staff id."),
    role: Role = typer.Option(Role.CLERK, help="clerk, unit_head, supervisor or center_admin."),
    unit: Optional[str] = typer.Option(None, help="The staff member's unit code."),
    name: str = typer.Option("", help="Display name."),
    ttl: int = typer.Option(8 * 3600, help="Lifetime in seconds."),
) -> None:
    """Issue a local staff token (HS256 with the local key)."""
    from services.runtime.auth import Authenticator

    if role in (Role.CLERK, Role.UNIT_HEAD) and not unit:
        raise typer.BadParameter("clerks and unit heads belong to a unit: give --unit")
    typer.echo(Authenticator(ServiceSettings()).issue(sub, role, unit, name, ttl))


@app.command()
def settings() -> None:
    """List the environment variables every service reads."""
    for fname, field in ServiceSettings.model_fields.items():
        alias = field.validation_alias
        names = list(alias.choices) if alias is not None and hasattr(alias, "choices") else [f"ONEWINDOW_{fname.upper()}"]
        console.print(f"[bold]{' | '.join(map(str, names))}[/bold] = {field.default!r}\n    {field.description}")


@app.command()
def report(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (local date, Asia/Shanghai)."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (included)."),
    bootstrap: Optional[str] = typer.Option(None, help="Kafka bootstrap servers [default: the settings']."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of the zh-CN table."),
    timeout: float = typer.Option(300, help="Seconds allowed for reading the topics."),
    compare_from: Optional[str] = typer.Option(
        None, "--compare-from", help="Compare with an earlier period from this day (YYYY-MM-DD): Markdown."),
    compare_to: Optional[str] = typer.Option(None, "--compare-to", help="Last day of the earlier period."),
    weekend_since: Optional[str] = typer.Option(
        None, "--weekend-since", help="With a comparison: weekend cases from this day to --to."),
    document: Optional[Path] = typer.Option(
        None, "--document", help="Also write the year's summary as a document: <PATH>.md, <PATH>.pdf and the "
        "charts' PNGs beside them (with the comparison when one is asked for)."),
    center_name: str = typer.Option("县行政审批服务中心", "--center-name", help="The center's name, for the document's title."),
) -> None:
    """The year-end figures, computed from the public topics alone (read from the beginning);
    with --compare-from/--compare-to the before/after figures as Markdown (tools/reporting/compare.py)."""
    from datetime import date

    from tools.reporting import compare, compute, render_markdown
    from tools.reporting.render import render_zh
    from tools.reporting.source import read_topics

    def day(value: str, option: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{option}: dates are YYYY-MM-DD, not {value!r}") from None

    first, last = day(start, "--from"), day(end, "--to")
    if last < first:
        raise typer.BadParameter("--to is before --from")
    if (compare_from is None) != (compare_to is None):
        raise typer.BadParameter("--compare-from and --compare-to go together")
    before = (day(compare_from, "--compare-from"), day(compare_to, "--compare-to")) if compare_from and compare_to else None
    if before is not None and before[1] < before[0]:
        raise typer.BadParameter("--compare-to is before --compare-from")
    since = day(weekend_since, "--weekend-since") if weekend_since else None
    if since is not None and (before is None or since > last):
        raise typer.BadParameter("--weekend-since needs a comparison and a day no later than --to")
    options = ServiceSettings().aiokafka_options()
    if bootstrap:
        options["bootstrap_servers"] = bootstrap
    result = asyncio.run(read_topics(timeout_s=timeout, **options))
    for name in result.missing_topics:
        console.print(f"[yellow]topic {name} does not exist on the broker[/yellow]", style=None)
    comparison = compare(result.envelopes, before, (first, last), weekend_since=since) if before is not None else None
    if document is not None:
        from tools.reporting.document import write_document

        for path in write_document(compute(result.envelopes, first, last), comparison, document, center_name=center_name):
            typer.echo(f"wrote {path}", err=True)  # stdout stays the figures (--json pipes)
    if comparison is not None:
        typer.echo(comparison.model_dump_json(indent=2) if as_json else render_markdown(comparison))
        return
    figures = compute(result.envelopes, first, last)
    if as_json:
        typer.echo(figures.model_dump_json(indent=2))
    else:
        typer.echo(render_zh(figures))


dlq_app = typer.Typer(help="Dead letters: inspect and replay.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(topic: str = typer.Argument(..., help="The original topic (its .dlq twin is read)."), limit: int = 50) -> None:
    """Show the dead letters of a topic with their reasons."""
    from services.runtime import deadletters

    for letter in asyncio.run(deadletters.read(topic, limit=limit)):
        console.print_json(json.dumps(letter.summary(), ensure_ascii=False))


@dlq_app.command("replay")
def dlq_replay(
    topic: str = typer.Argument(..., help="The original topic."),
    event_id: list[str] = typer.Option(None, "--event-id", help="Replay only these ce_ids (default: all)."),
) -> None:
    """Publish dead letters back to their original topic, unchanged (same ce_id): consumers that
    already processed them skip them; the one that failed processes them again."""
    from services.runtime import deadletters

    n = asyncio.run(deadletters.replay(topic, set(event_id or [])))
    console.print(f"replayed {n} dead letter(s) to {topic}")


seal_app = typer.Typer(help="The seal service's records, checked from outside.", no_args_is_help=True)
app.add_typer(seal_app, name="seal")
seal_app.command("verify-log")(seal_log.command)


db_app = typer.Typer(help="Database migrations of a service.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(name: str) -> None:
    """Apply the service's migrations to its database."""
    svc = load_service(_check_service(name))
    asyncio.run(svc.db.migrate())
    console.print(f"{name}: at {svc.db.head_revision()}")


@db_app.command("revision")
def db_revision(name: str, message: str = typer.Option(..., "-m", help="What the migration does.")) -> None:
    """Autogenerate a migration from the service's models (against a scratch SQLite database)."""
    import tempfile

    from alembic import command

    from services.runtime.db import Database, sync_engine

    svc = load_service(_check_service(name))
    migrations = svc.db.migrations
    if migrations is None:
        raise typer.BadParameter(f"{name} declares no migrations folder")
    scaffold_migrations(migrations, name)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        scratch = Database(url, svc.db.metadata, migrations)
        cfg = scratch.alembic_config()
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)
        sync_engine(url).dispose()
    console.print(f"new migration in {migrations / 'versions'}")


def scaffold_migrations(folder: Path, name: str) -> None:
    """Create a service's migrations folder (env.py, template) if it has none yet."""
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    env = folder / "env.py"
    if not env.exists():
        env.write_text(
            f'"""Alembic environment of the {name} service (see services/runtime/alembic_env.py)."""\n\n'
            "from services.runtime.alembic_env import run\n"
            f"from services.{name}.store import metadata\n\n"
            "run(metadata)\n"
        )
    tmpl = folder / "script.py.mako"
    if not tmpl.exists():
        tmpl.write_text((REPO_ROOT / "services" / "runtime" / "script.py.mako").read_text())


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
