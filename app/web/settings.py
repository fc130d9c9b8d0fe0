"""Settings: the organization's defaults, API keys (shown once, revocable), WhatsApp."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.auth import current_org_id
from app.drip import accounts
from app.drip.errors import DripError
from app.extensions import db
from app.models import Organization, WhatsAppAccount
from app.roles import admin_only
from app.web.forms import EmptyForm

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


class OrganizationForm(FlaskForm):
    default_region = StringField(
        "Default country for phone numbers", validators=[DataRequired(), Length(max=2)]
    )
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])


def _render(key_form=None, whatsapp_form=None, new_key=None, org_form=None, status=200):
    org_id = current_org_id()
    org = db.session.get(Organization, org_id)
    account = db.session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.organization_id == org_id)
    )
    return render_template(
        "settings/index.html",
        org=org,
        org_form=org_form or OrganizationForm(obj=org),
        keys=accounts.list_api_keys(db.session, org_id),
        account=account,
        key_form=key_form or ApiKeyForm(),
        whatsapp_form=whatsapp_form or WhatsAppForm(obj=account),
        action_form=EmptyForm(),
        new_key=new_key,
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
        accounts.set_whatsapp_account(
            db.session,
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
    flash("WhatsApp account saved. Messages now go out through the Cloud API.", "info")
    return redirect(url_for("settings.index"))
