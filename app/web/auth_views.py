"""Login and logout (of this browser, or of every browser)."""

from __future__ import annotations

import math
from datetime import timedelta
from time import sleep
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from app.auth import log_in, log_out, public
from app.drip import accounts
from app.drip.accounts import authenticate
from app.extensions import db
from app.models import utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        now, limits, address = utcnow(), _limits(), request.remote_addr
        until = accounts.locked_until(db.session, form.email.data, address, now, limits)
        if until is not None:
            return _locked_out(form, until - now)
        # Many failures for this email from elsewhere: slowed, never locked (the right password
        # from here still gets in). Waited before the check, so right and wrong wait alike.
        sleep(accounts.login_delay(db.session, form.email.data, now, limits).total_seconds())
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            accounts.record_success(db.session, user.email, address)
            log_in(user, remember=form.remember.data)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        accounts.record_failure(db.session, form.email.data, address, now, limits)
        db.session.commit()
        flash("Wrong email or password.", "error")
    return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200


def _limits() -> accounts.Limits:
    config = current_app.config
    return accounts.Limits(
        max_failures=config["LOGIN_MAX_FAILURES"],
        max_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        window=timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]),
        lock=timedelta(minutes=config["LOGIN_LOCK_MINUTES"]),
        max_delay=timedelta(seconds=config["LOGIN_MAX_DELAY_SECONDS"]),
    )


def _locked_out(form: LoginForm, remaining: timedelta):
    """429: refused without looking at the password, so even the right one waits."""
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    flash(
        "Too many failed logins. For your account's safety, logging in from here is blocked "
        f"for {minutes} more minute{'s' if minutes != 1 else ''}. Please try again later.",
        "error",
    )
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(math.ceil(remaining.total_seconds()))
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    log_out()
    db.session.commit()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
def logout_everywhere():
    """Every browser logged in as this user (a forgotten computer, a stolen cookie) is logged
    out; API keys are not sessions and keep working. The form's CSRF token is checked by
    CSRFProtect, as for every form."""
    log_out(everywhere=True)
    db.session.commit()
    flash("You are logged out on every browser.", "info")
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str:
    """Only a path on this site: ?next= must not send a user elsewhere after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("pages.home")
