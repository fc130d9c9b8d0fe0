"""Settings: the organization's defaults, API keys (shown once, revocable), WhatsApp (what
Meta verified, the webhook URL and verify token for Meta's dashboard, a test message, back to
the sandbox), and the banner every page shows while the account is failing or paused."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app import tasks
from app.auth import current_actor, current_org_id
from app.drip import accounts, pricing, sending
from app.drip.errors import DripError
from app.extensions import db
from app.models import Organization, WhatsAppAccount
from app.roles import admin_only
from app.web.forms import EmptyForm

log = logging.getLogger(__name__)

bp = Blueprint("settings", __name__, url_prefix="/settings")


class ApiKeyForm(FlaskForm):
    name = StringField("Key name", validators=[DataRequired(), Length(max=120)])


class WhatsAppForm(FlaskForm):
    phone_number_id = StringField("Phone number ID", validators=[DataRequired(), Length(max=64)])
    business_account_id = StringField("WhatsApp Business account ID", validators=[Optional()])
    access_token = PasswordField("Access token", validators=[DataRequired()])
    app_secret = PasswordField("App secret", validators=[DataRequired()])
    verify_token = PasswordField("Webhook verify token", validators=[Optional()])
    api_base_url = StringField("API base URL", validators=[Optional(), Length(max=255)])


class TestMessageForm(FlaskForm):
    to = StringField("Send to (phone number)", validators=[DataRequired(), Length(max=40)])
    kind = RadioField(
        "Message",
        choices=[SelectChoice("text", "A text"), SelectChoice("template", "A template")],
        default="text",
    )
    body = TextAreaField("Text", validators=[Optional(), Length(max=1000)])
    template_name = StringField("Template name", validators=[Optional(), Length(max=512)])
    template_language = StringField(
        "Template language", default="en_US", validators=[Optional(), Length(max=16)]
    )
    parameters = TextAreaField(
        "Template values (one a line, in the template's order)",
        validators=[Optional(), Length(max=2000)],
    )


class OrganizationForm(FlaskForm):
    default_region = StringField(
        "Default country for phone numbers", validators=[DataRequired(), Length(max=2)]
    )
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])


class SendingLimitsForm(FlaskForm):
    messaging_limit = IntegerField(
        "Messaging limit (people reached outside their window per 24 hours; empty: none)",
        validators=[Optional()],
    )
    frequency_cap_messages = IntegerField("At most this many marketing messages", [Optional()])
    frequency_cap_days = IntegerField("per contact in this many days", [Optional()])
    marketing_cap_retries = IntegerField(
        "Retries of a message held by Meta's marketing cap (131049)", [Optional()]
    )


def _limits_form(org, account) -> SendingLimitsForm:
    form = SendingLimitsForm(obj=org)
    if not form.is_submitted():
        form.messaging_limit.data = account.messaging_limit if account else None
    return form


# Meta cannot call these: a webhook URL built on them is only a hint to set PUBLIC_BASE_URL.
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def webhook_url() -> str:
    """The absolute URL of the webhook route for Meta's dashboard: on PUBLIC_BASE_URL when
    the operator set a public one, else on the address this page was asked for."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base and urlsplit(base).hostname not in _LOOPBACK:
        return base + url_for("webhooks.whatsapp")
    return url_for("webhooks.whatsapp", _external=True)


def _webhook_warning(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.hostname in _LOOPBACK:
        return (
            "This is a local address Meta cannot reach: set PUBLIC_BASE_URL to Drip's public "
            "https address (or use a tunnel while testing)."
        )
    if parts.scheme != "https":
        return "Meta calls only https addresses with a valid (not self-signed) certificate."
    return None


def _render(
    key_form=None,
    whatsapp_form=None,
    new_key=None,
    org_form=None,
    status=200,
    *,
    test_form=None,
    new_verify_token=None,
    test_outcome=None,
    limits_form=None,
):
    org_id = current_org_id()
    org = db.session.get(Organization, org_id)
    account = db.session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.organization_id == org_id)
    )
    url = webhook_url()
    return render_template(
        "settings/index.html",
        org=org,
        org_form=org_form or OrganizationForm(obj=org),
        limits_form=limits_form or _limits_form(org, account),
        keys=accounts.list_api_keys(db.session, org_id),
        account=account,
        key_form=key_form or ApiKeyForm(),
        whatsapp_form=whatsapp_form or WhatsAppForm(obj=account),
        action_form=EmptyForm(),
        new_key=new_key,
        test_form=test_form or TestMessageForm(),
        webhook_url=url,
        webhook_warning=_webhook_warning(url),
        new_verify_token=new_verify_token,
        test_outcome=test_outcome,
    ), status


@bp.route("/", strict_slashes=False)
def index():
    return _render()


@bp.route("/organization", methods=["POST"])
@admin_only("change the organization's settings")
def save_organization():
    form = OrganizationForm()
    if not form.validate_on_submit():
        return _render(org_form=form, status=400)
    try:
        accounts.update_organization(
            db.session,
            db.session.get(Organization, current_org_id()),
            default_region=form.default_region.data,
            timezone=form.timezone.data.strip(),
        )
    except DripError as exc:
        db.session.rollback()
        for field, message in (exc.details or {}).get("fields", {}).items():
            getattr(form, field).errors.append(message)
        return _render(org_form=form, status=422)
    db.session.commit()
    flash("Organization settings saved.", "success")
    return redirect(url_for("settings.index"))


@bp.route("/sending-limits", methods=["POST"])
@admin_only("change the sending limits")
def save_sending_limits():
    form = SendingLimitsForm()
    if not form.validate_on_submit():
        return _render(limits_form=form, status=400)
    messages, days = form.frequency_cap_messages.data, form.frequency_cap_days.data
    try:
        sending.update_sending_limits(
            db.session,
            current_actor(),
            current_org_id(),
            messaging_limit=form.messaging_limit.data,
            frequency_cap=None if messages is None and days is None else (messages, days),
            marketing_cap_retries=(
                form.marketing_cap_retries.data
                if form.marketing_cap_retries.data is not None
                else sending.UNSET
            ),
        )
    except DripError as exc:
        db.session.rollback()
        for field, message in (exc.details or {}).get("fields", {}).items():
            getattr(form, field).errors.append(message)
        flash(exc.message, "error")
        return _render(limits_form=form, status=422)
    db.session.commit()
    flash("Sending limits saved.", "success")
    return redirect(url_for("settings.index") + "#sending-limits")


@bp.route("/api-keys", methods=["POST"])
@admin_only("manage API keys")
def create_api_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _render(key_form=form, status=400)
    _key, token = accounts.create_api_key(
        db.session, current_org_id(), form.name.data, user_id=current_user.id
    )
    db.session.commit()
    # Rendered, not redirected: the key is never stored, so this page is its only showing.
    return _render(new_key=token, status=201)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@admin_only("manage API keys")
def revoke_api_key(key_id: int):
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
        return redirect(url_for("settings.index"))
    key = accounts.revoke_api_key(db.session, current_org_id(), key_id)
    db.session.commit()
    flash(f"API key “{key.name}” revoked. Programs using it now get 401.", "info")
    return redirect(url_for("settings.index"))


@bp.route("/whatsapp", methods=["POST"])
@admin_only("change the WhatsApp account")
def save_whatsapp():
    form = WhatsAppForm()
    if not form.validate_on_submit():
        return _render(whatsapp_form=form, status=400)
    org = db.session.get(Organization, current_org_id())
    try:
        sending.save_account(
            db.session,
            current_actor(),
            current_app.extensions["drip_secret_box"],
            org,
            phone_number_id=form.phone_number_id.data,
            access_token=form.access_token.data,
            app_secret=form.app_secret.data,
            verify_token=form.verify_token.data or None,
            api_base_url=form.api_base_url.data or None,
            business_account_id=form.business_account_id.data or None,
            allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
    except DripError as exc:
        db.session.rollback()
        for field, message in (exc.details or {}).get("fields", {}).items():
            getattr(form, field).errors.append(message)
        flash(exc.message, "error")
        return _render(whatsapp_form=form, status=422)
    db.session.commit()
    # A verify token typed here is not shown back (the admin has it; secrets are never
    # echoed): only one Drip generates is shown, once.
    flash("WhatsApp account saved. Messages now go out through the Cloud API.", "info")
    return redirect(url_for("settings.index"))


@bp.route("/whatsapp/verify-token", methods=["POST"])
@admin_only("change the WhatsApp account")
def new_verify_token():
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
        return redirect(url_for("settings.index"))
    try:
        token = sending.regenerate_verify_token(db.session, current_actor(), current_org_id())
    except DripError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("settings.index"))
    db.session.commit()
    flash("New verify token: paste it into Meta's dashboard now; the old one no longer works.")
    return _render(new_verify_token=token, status=201)


@bp.route("/whatsapp/test-message", methods=["POST"])
@admin_only("send a test message")
def send_test_message():
    form = TestMessageForm()
    if not form.validate_on_submit():
        return _render(test_form=form, status=400)
    org_id = current_org_id()
    org = db.session.get(Organization, org_id)
    provider = tasks.routes_for(db.session, {org_id})[org_id].provider
    message = sending.TestMessage(
        to=form.to.data,
        kind=form.kind.data,
        body=form.body.data or "",
        template_name=form.template_name.data or "",
        template_language=form.template_language.data or "",
        parameters=[line.strip() for line in (form.parameters.data or "").splitlines() if line],
    )
    try:
        outcome = sending.send_test_message(db.session, current_actor(), org, provider, message)
    except DripError as exc:
        db.session.rollback()
        for field, text in (exc.details or {}).get("fields", {}).items():
            getattr(form, field).errors.append(text)
        flash(exc.message, "error")
        return _render(test_form=form, status=422)
    db.session.commit()
    return _render(test_form=form, test_outcome=outcome, status=200)


@bp.route("/whatsapp/remove", methods=["POST"])
@admin_only("change the WhatsApp account")
def use_sandbox_again():
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
        return redirect(url_for("settings.index"))
    try:
        sending.use_sandbox_again(db.session, current_actor(), current_org_id())
    except DripError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("settings.index"))
    db.session.commit()
    flash("The WhatsApp account is removed: messages go to the sandbox again.", "info")
    return redirect(url_for("settings.index"))


# --- Prices: the rate card in use (issue 17) ------------------------------------------------


class RateCardForm(FlaskForm):
    file = FileField(
        "Meta's rate-card CSV",
        validators=[FileRequired("Choose a CSV file.")],
        description="Meta's CSV (Market, Currency, Marketing, Utility, ...) or "
        "market,category,price,currency,effective_from.",
    )
    currency = StringField("Currency (if the file has no Currency column)", [Optional()])
    effective_from = StringField(
        "Effective from, YYYY-MM-DD (if the file has no date column)", [Optional()]
    )


@bp.context_processor
def _prices() -> dict:
    """The "Prices" section's card and form, loaded only when the page shows them."""
    return {
        "price_card": lambda: pricing.rate_card(db.session, current_org_id()),
        "price_form": lambda: g.get("price_form") or RateCardForm(),
    }


@bp.route("/prices", methods=["POST"])
@admin_only("change the rate card")
def save_prices():
    form = RateCardForm()
    if form.validate_on_submit():
        try:
            text = form.file.data.read(2 * 1024 * 1024).decode("utf-8-sig")
            rows = pricing.parse_csv(
                text,
                currency=(form.currency.data or "").strip().upper() or None,
                effective_from=(form.effective_from.data or "").strip() or None,
            )
            loaded = pricing.replace_rate_card(db.session, current_org_id(), rows, current_actor())
        except UnicodeDecodeError:
            form.file.errors = ["The file must be UTF-8 text."]
        except DripError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Prices loaded: {len(loaded)} rows.", "success")
            return redirect(url_for("settings.index") + "#prices")
    g.price_form = form
    return _render(status=422)
