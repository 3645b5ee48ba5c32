"""`faultmaven users`: create users, issue tokens, list, disable and enable them (token auth mode)."""

from __future__ import annotations

from typing import Annotated

import typer

from faultmaven.cli.running import with_container

users_app = typer.Typer(help="Users and their tokens (token auth mode).", no_args_is_help=True)


def _run_users(action):  # type: ignore[no-untyped-def]
    """`_with_container`, with a service's refusal (unknown user, name taken, weak password) printed as
    one line and exit code 1 instead of a traceback."""
    from faultmaven.services.errors import ServiceError

    try:
        return with_container(action)
    except ServiceError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(code=1) from error


def _prompt_password() -> str:
    from faultmaven.services.accounts.passwords import check_password_policy
    from faultmaven.services.errors import ServiceError

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(password)
    except ServiceError as error:
        raise typer.BadParameter(error.detail) from error
    return password


def _check_username(name: str) -> None:
    """The same rule as `POST /api/v1/users`: 3 to 50 letters, digits and `._@-`."""
    from pydantic import ValidationError

    from faultmaven.api.v1.account_schemas import UserCreateBody

    try:
        UserCreateBody(username=name)
    except ValidationError as error:
        raise typer.BadParameter(
            f"{name!r} is not a valid user name: use 3 to 50 letters, digits, '.', '_', '@' or '-'",
            param_hint="NAME",
        ) from error


def _change_user(name: str, change):  # type: ignore[no-untyped-def]
    """Apply `change(account_service, user_id)` to the user called `name` and return the result."""

    async def action(container):  # type: ignore[no-untyped-def]
        user = await container.auth_service.get_user(name)
        return await change(container.account_service, user.user_id)

    return _run_users(action)


@users_app.command("create")
def users_create(
    name: str,
    admin: Annotated[bool, typer.Option("--admin", help="Give the user the admin role.")] = False,
    password: Annotated[
        bool, typer.Option("--password", help="Prompt for a password (twice) so the user can log in.")
    ] = False,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
) -> None:
    """Create a user and print an API token for them (shown once)."""
    _check_username(name)
    secret = _prompt_password() if password else None

    async def action(container):  # type: ignore[no-untyped-def]
        user = await container.account_service.create_account(name, password=secret, admin=admin, email=email)
        return user, await container.auth_service.issue_token(user.user_id, name="cli")

    user, token = _run_users(action)
    typer.echo(f"created user {user.username} ({user.user_id}){' with admin role' if admin else ''}")
    typer.echo(f"token (shown once, store it now): {token}")


@users_app.command("token")
def users_token(name: str) -> None:
    """Issue a new API token for an existing user (shown once)."""

    async def action(container):  # type: ignore[no-untyped-def]
        user = await container.auth_service.get_user(name)
        return await container.auth_service.issue_token(user.user_id, name="cli")

    typer.echo(f"token (shown once, store it now): {_run_users(action)}")


@users_app.command("list")
def users_list() -> None:
    """List users: name, id, roles, then `password` if they can log in and `disabled` if disabled."""
    for user in with_container(lambda container: container.auth_service.list_users()):
        flags = (["password"] if user.has_password else []) + (["disabled"] if user.disabled else [])
        typer.echo("\t".join([user.username, user.user_id, ",".join(user.roles), *flags]))


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable a user: no login, and every token of theirs is revoked."""
    _change_user(name, lambda accounts, user_id: accounts.set_disabled(user_id, True))
    typer.echo(f"disabled {name}")


@users_app.command("enable")
def users_enable(name: str) -> None:
    """Enable a user again (and lift a login lockout); issue a new token with `users token`."""
    _change_user(name, lambda accounts, user_id: accounts.set_disabled(user_id, False))
    typer.echo(f"enabled {name}")


@users_app.command("reset-password")
def users_reset_password(name: str) -> None:
    """Set a user's password (prompted twice); this also lifts a login lockout."""
    secret = _prompt_password()
    _change_user(name, lambda accounts, user_id: accounts.set_password(user_id, secret))
    typer.echo(f"password of {name} set")


@users_app.command("make-admin")
def users_make_admin(
    name: str,
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the admin role away instead.")] = False,
) -> None:
    """Give a user the admin role, or take it away with --revoke."""
    _change_user(name, lambda accounts, user_id: accounts.set_admin(user_id, not revoke))
    typer.echo(f"{name} is {'no longer' if revoke else 'now'} an admin")
