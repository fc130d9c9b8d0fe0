"""Drip: WhatsApp drip campaigns. create_app() wires extensions, blueprints and the CLI."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from app import auth, cli, errors, roles, security, tasks
from app.api import ab_tests as api_ab_tests
from app.api import analytics as api_analytics
from app.api import audience as api_audience
from app.api import campaigns as api_campaigns
from app.api import contacts as api_contacts
from app.api import cron as api_cron
from app.api import enrollments as api_enrollments
from app.api import events as api_events
from app.api import keys as api_keys
from app.api import openapi
from app.api import rate_card as api_rate_card
from app.api import settings as api_settings
from app.api import templates as api_templates
from app.api import webhooks as api_webhooks
from app.api.respond import ids_in_range
from app.config import Config
from app.crypto import SecretBox
from app.extensions import csrf, db, login_manager, migrate
from app.web import (
    ab_test_actions,
    ab_tests,
    analytics,
    auth_views,
    banner,
    campaigns,
    contacts,
    enroll_review,
    enrollments,
    links,
    message_templates,
    pages,
    profile,
    settings,
)

ROOT = Path(__file__).resolve().parent.parent

HTML_BLUEPRINTS = tuple(
    module.bp
    for module in (
        auth_views,
        pages,
        campaigns,
        contacts,
        message_templates,
        enrollments,
        enroll_review,
        settings,
        profile,
        links,
        analytics,
        ab_tests,
        ab_test_actions,
    )
)
# JSON modules: a blueprint and the OpenAPI paths it serves. They authenticate per request
# (Bearer, or a session plus the CSRF header), so form CSRF does not apply.
API_MODULES = (
    api_keys,
    api_contacts,
    api_campaigns,
    api_analytics,
    api_ab_tests,
    api_enrollments,
    api_events,
    api_audience,
    api_templates,
    api_rate_card,
    api_settings,
    api_cron,
    api_webhooks,
    openapi,
)


def create_app(config: Config | None = None) -> Flask:
    """Build the app; configuration comes from the environment unless a Config is given."""
    config = config or Config.from_env()
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(config.flask_settings(Path(app.instance_path)))
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.extensions["drip_secret_box"] = SecretBox(app.config["SECRET_KEY"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    # The login guard runs before CSRF so that an anonymous POST is sent to log in first.
    app.before_request(auth.require_login)
    csrf.init_app(app)
    roles.register(app)  # after the login guard: 403 for a member on admin-only views
    banner.register(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    for blueprint in HTML_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.extensions["drip_openapi_paths"] = {}
    for module in API_MODULES:
        app.register_blueprint(module.bp)
        csrf.exempt(module.bp)
        app.extensions["drip_openapi_paths"].update(getattr(module, "OPENAPI", {}))
    app.url_value_preprocessor(ids_in_range)
    errors.register_error_handlers(app)
    security.register(app)
    cli.register(app)
    # Embedded mode (`make run`): the recurring jobs run in this process; it does nothing
    # unless EMBEDDED_WORKER is set and there is no REDIS_URL.
    tasks.start_embedded(app, tasks.RECURRING)
    return app


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web app read while the worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
