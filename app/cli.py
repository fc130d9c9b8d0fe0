"""flask --app wsgi <command>: create-org, create-user, create-api-key, set-whatsapp, seed-demo."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.drip import accounts
from app.drip.demo import seed_demo_data
from app.drip.errors import DripError
from app.extensions import db
from app.models import Organization, User

DEMO_ORG = "Demo Shop"
DEMO_EMAIL = "demo@drip.example"
DEMO_PASSWORD = "drip-demo-2026"
DEMO_TIMEZONE = "Europe/London"


def register(app: Flask) -> None:
    for command in (create_org, create_user, remove_user, create_api_key, set_whatsapp, seed_demo):
        app.cli.add_command(command)


def _fail(exc: DripError):
    db.session.rollback()
    raise click.ClickException(_describe(exc))


def _describe(exc: DripError) -> str:
    fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
    if fields:
        return exc.message + " " + " ".join(f"{k}: {v}" for k, v in fields.items())
    return exc.message


@click.command("create-org")
@with_appcontext
@click.argument("name")
@click.option("--timezone", default="UTC", show_default=True)
def create_org(name: str, timezone: str):
    """Create an organization."""
    try:
        org = accounts.create_organization(db.session, name, timezone=timezone)
    except DripError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created organization {org.name!r} (id {org.id}).")


@click.command("create-user")
@with_appcontext
@click.option("--org", "org_name", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["admin", "member"]), default="admin", show_default=True)
def create_user(org_name: str, email: str, password: str, role: str):
    """Create a user who can log in to an organization."""
    try:
        org = accounts.organization_by_name(db.session, org_name)
        user = accounts.create_user(db.session, org, email, password, role=role)
    except DripError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} in {org.name!r}.")


@click.command("remove-user")
@with_appcontext
@click.option("--org", "org_name", required=True)
@click.option("--email", required=True)
def remove_user(org_name: str, email: str):
    """Remove a user from an organization and revoke the API keys they created."""
    email = email.strip().lower()
    try:
        org = accounts.organization_by_name(db.session, org_name)
        user_id = db.session.scalar(
            select(User.id).where(User.organization_id == org.id, User.email == email)
        )
        if user_id is None:
            raise click.ClickException(f"No user {email} in {org.name!r}.")
        revoked = accounts.remove_user(db.session, org.id, user_id)
    except DripError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Removed {email} from {org.name!r}; revoked {revoked} API key(s).")


@click.command("create-api-key")
@with_appcontext
@click.option("--org", "org_name", required=True)
@click.option("--name", default="CLI key", show_default=True)
def create_api_key(org_name: str, name: str):
    """Create an API key; the key is printed alone on the last line, once."""
    try:
        org = accounts.organization_by_name(db.session, org_name)
        _key, token = accounts.create_api_key(db.session, org.id, name)
    except DripError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"API key for {org.name!r} (shown once, store it now):")
    click.echo(token)


@click.command("set-whatsapp")
@with_appcontext
@click.option("--org", "org_name", required=True)
@click.option("--phone-number-id", required=True)
@click.option("--access-token", required=True)
@click.option("--app-secret", required=True)
@click.option("--verify-token", default=None)
@click.option(
    "--api-base-url",
    default=None,
    help="Another Graph API address: its host must be in WHATSAPP_API_ALLOWED_HOSTS.",
)
@click.option("--business-account-id", default=None)
@click.option(
    "--messages-per-second",
    type=int,
    default=None,
    help="The number's throughput tier: 80 by default, up to 1,000 when Meta upgraded it.",
)
def set_whatsapp(
    org_name,
    phone_number_id,
    access_token,
    app_secret,
    verify_token,
    api_base_url,
    business_account_id,
    messages_per_second,
):
    """Connect an organization to a WhatsApp Cloud API phone number (Meta is asked to confirm
    that the access token can read the phone number id)."""
    try:
        org = accounts.organization_by_name(db.session, org_name)
        account = accounts.set_whatsapp_account(
            db.session,
            current_app.extensions["drip_secret_box"],
            org,
            phone_number_id=phone_number_id,
            access_token=access_token,
            app_secret=app_secret,
            verify_token=verify_token,
            api_base_url=api_base_url,
            business_account_id=business_account_id,
            messages_per_second=messages_per_second,
            allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
    except DripError as exc:
        _fail(exc)
    db.session.commit()
    shown = f" ({account.display_phone_number})" if account.display_phone_number else ""
    click.echo(
        f"{org.name!r} now sends through phone number {account.phone_number_id}{shown} "
        f"at {account.api_base_url}."
    )


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create the demo organization, its login, and its campaigns with sixty days of history
    (safe to run again: what is already there is left as it is)."""
    started = time.perf_counter()
    org = db.session.scalar(select(Organization).where(Organization.name == DEMO_ORG))
    if org is None:
        org = accounts.create_organization(db.session, DEMO_ORG, timezone=DEMO_TIMEZONE)
    if db.session.scalar(select(User.id).where(User.email == DEMO_EMAIL)) is None:
        accounts.create_user(db.session, org, DEMO_EMAIL, DEMO_PASSWORD, role="admin")
    result = seed_demo_data(db.session, org.id)
    db.session.commit()
    for name in result.created:
        click.echo(f"Created campaign {name!r}.")
    for name in result.existing:
        click.echo(f"Campaign {name!r} is already there: left as it is.")
    if result.rows:
        click.echo(
            "History: " + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in result.rows.items())
        )
    click.echo(f"Demo organization {DEMO_ORG!r} is ready ({time.perf_counter() - started:.1f} s).")
    click.echo(f"Log in with {DEMO_EMAIL} / {DEMO_PASSWORD}")
