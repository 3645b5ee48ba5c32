"""The `faultmaven` command: serve, migrate, manage users, purge, and work with logs."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from faultmaven.api.lifespan import settings_error_line
from faultmaven.cli.running import with_container
from faultmaven.cli.users import users_app
from faultmaven.config.settings import Settings
from faultmaven.services.knowledge.models import DocumentType

app = typer.Typer(
    help="FaultMaven: AI troubleshooting copilot for SRE and DevOps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
logs_app = typer.Typer(help="Log parsing and digests, offline.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(logs_app, name="logs")
keys_app = typer.Typer(help="Encryption keys for the originals stored at rest.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
MIN_DIGEST_CHARS = 500
"""The smallest digest that still holds its summary lines."""
kb_app = typer.Typer(help="Knowledge base: runbooks and guides the agent searches.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    """Options of every command, given before it (`faultmaven --debug users list`); `main` reads them."""


def _one_line(error: BaseException) -> str:
    """An unexpected error as one line: its kind and the first line of its message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def _command_line_error(error: Exception) -> tuple[str, int] | None:
    """(one line, exit code) for a bad command line (click's usage errors, whichever click typer uses);
    None for any other error."""
    exit_code, format_message = getattr(error, "exit_code", None), getattr(error, "format_message", None)
    if not isinstance(exit_code, int) or format_message is None:
        return None
    if type(error).__name__ == "NoArgsIsHelpError":
        return "", exit_code
    context = getattr(error, "ctx", None)
    hint = f" (see: {context.command_path} --help)" if context is not None else ""
    return f"error: {format_message()}{hint}", exit_code


def main() -> None:
    """The `faultmaven` command: any error is one line on stderr and a non-zero exit (2 for a bad
    command line, 1 otherwise); `--debug` shows the traceback of an unexpected one."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    except Exception as error:
        usage = _command_line_error(error)
        if usage is not None:
            if usage[0]:
                typer.echo(usage[0], err=True)
            sys.exit(usage[1])
        if "--debug" in sys.argv[1:]:
            raise
        typer.echo(f"error: {_one_line(error)} (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


def check_bind_allowed(settings: Settings, host: str, force: bool) -> None:
    """Local mode has no credentials: refuse to expose it beyond this machine unless forced."""
    if (
        settings.auth_mode == "local"
        and not _is_loopback(host)
        and not (force or settings.allow_non_loopback)
    ):
        raise typer.BadParameter(
            f"auth mode 'local' needs no credentials, so it only listens on loopback; {host} is not. "
            "Use FAULTMAVEN_AUTH_MODE=token, or --force (FAULTMAVEN_ALLOW_NON_LOOPBACK=true) if you mean it.",
            param_hint="--host",
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    force: Annotated[bool, typer.Option(help="Allow local auth mode on a non-loopback address.")] = False,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    proxy_headers: Annotated[
        bool, typer.Option(help="Take the client address and scheme from X-Forwarded-For/-Proto.")
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated proxy addresses (or '*') whose X-Forwarded-* headers are trusted. "
            "Default: $FORWARDED_ALLOW_IPS, else 127.0.0.1.",
        ),
    ] = None,
) -> None:
    """Run the HTTP API server."""
    import uvicorn

    try:
        settings = Settings()
    except ValidationError as error:
        raise SystemExit(settings_error_line(error)) from None
    check_bind_allowed(settings, host, force)
    uvicorn.run(
        "faultmaven.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=None,
        access_log=False,  # RequestContextMiddleware logs every request (route template, status, duration)
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from faultmaven.infrastructure.persistence.database import Database
    from faultmaven.infrastructure.persistence.migrations import current_revision, upgrade_to_head

    async def run() -> str | None:
        database = Database(Settings().database_url)
        try:
            await upgrade_to_head(database)
            return await current_revision(database)
        finally:
            await database.dispose()

    typer.echo(f"database at revision {asyncio.run(run())}")


@app.command()
def worker() -> None:
    """Run query jobs from the Redis queue (FAULTMAVEN_QUEUE_URL) until interrupted."""
    from faultmaven.infrastructure.queue.taskiq_queue import TaskiqJobQueue

    async def action(container):  # type: ignore[no-untyped-def]
        queue = container.job_queue
        if not isinstance(queue, TaskiqJobQueue):
            raise typer.BadParameter("set FAULTMAVEN_QUEUE_URL=redis://... to run separate workers")
        await queue.run_worker()

    with_container(action, serve=True)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new key for FAULTMAVEN_ENCRYPTION_KEYS (put it first to rotate; keep the old ones)."""
    from faultmaven.infrastructure.security.encryption import generate_key

    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored original under the first key; older keys may then be removed."""
    from faultmaven.infrastructure.persistence.key_rotation import reencrypt_originals

    count = with_container(lambda container: reencrypt_originals(container.database))
    typer.echo(f"{count} stored rows re-encrypted with the first key")


@app.command()
def purge() -> None:
    """Delete cases past their retention and expired idempotency records now."""
    purged = with_container(lambda container: container.retention.purge_once())
    typer.echo(", ".join(f"{count} {name}" for name, count in purged.items()) + " purged")


@logs_app.command("parse")
def logs_parse() -> None:
    """Read raw log lines on stdin; write each line's event template on stdout, in order."""
    import sys

    from faultmaven.services.logs import parse_stream

    lines = (line.rstrip("\r\n") for line in sys.stdin)
    sys.stdout.writelines(f"{template}\n" for template in parse_stream(lines))


@logs_app.command("digest")
def logs_digest(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Log file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the digest as JSON.")] = False,
    max_chars: Annotated[
        int, typer.Option(min=MIN_DIGEST_CHARS, help="Size budget of the Markdown digest, in characters.")
    ] = 8000,
) -> None:
    """Print a compact digest of a log file: event templates, errors, bursts, time line."""
    from rich.progress import Progress

    from faultmaven.services.logs import digest_file, render_markdown
    from faultmaven.services.logs.text_reader import BinaryContentError

    try:
        with Progress(transient=True) as progress:
            task = progress.add_task(f"digesting {path.name}", total=path.stat().st_size)
            digest = digest_file(path, progress=lambda done: progress.update(task, completed=done))
    except BinaryContentError as error:
        typer.echo(f"{path.name}: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(digest.model_dump_json(indent=2) if as_json else render_markdown(digest, max_chars=max_chars))


@kb_app.command("ingest")
def kb_ingest(
    path: Annotated[Path, typer.Argument(exists=True, readable=True, help="A Markdown file or folder.")],
    document_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help=f"Type of every file ({', '.join(t.value for t in DocumentType)}; default: front matter, "
            "else reference).",
        ),
    ] = None,
    personal: Annotated[
        str | None, typer.Option("--personal", metavar="USER", help="Ingest as USER's personal documents.")
    ] = None,
) -> None:
    """Ingest Markdown/text files (recursively); ingesting a file again updates its document."""
    from faultmaven.cli.kb import ingest_path

    valid = [kind.value for kind in DocumentType]
    if document_type is not None and document_type not in valid:
        typer.echo(f"error: unknown --type {document_type!r}; use one of: {', '.join(valid)}", err=True)
        raise typer.Exit(code=1)
    lines, failed = with_container(lambda container: ingest_path(container, path, document_type, personal))
    for line in lines:
        typer.echo(line)
    if failed:
        raise typer.Exit(code=1)


@app.command("eval")
def eval_suite(
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Run only this scenario (repeatable).")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for eval-report.json and eval-report.md.")
    ] = Path("eval-report"),
    judge: Annotated[
        str | None,
        typer.Option(help="Also grade 1-5 with this provider entry, e.g. judge=openai:gpt-4.1 (its key in "
                     "FAULTMAVEN_LLM_JUDGE_API_KEY)."),
    ] = None,
    budget: Annotated[float, typer.Option(min=1, help="Seconds each query may take.")] = 120.0,
    min_score: Annotated[
        float | None, typer.Option(min=0, max=100, help="Exit 1 when the suite scores below this.")
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the scenarios and exit.")] = False,
) -> None:
    """Run the scenario suite against the configured LLM provider(s) and score the answers."""
    from rich.console import Console

    from faultmaven.eval.command import list_scenarios, run_eval

    if list_only:
        for line in list_scenarios():
            typer.echo(line)
        return
    console = Console(width=None if sys.stdout.isatty() else 200)  # a report piped to a file stays unwrapped
    try:
        result = run_eval(scenario, out, judge, budget, console)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    if min_score is not None and result.summary.score < min_score:
        typer.echo(f"score {result.summary.score} is below --min-score {min_score}", err=True)
        raise typer.Exit(code=1)
