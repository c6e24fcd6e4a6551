"""The application factory: `gunicorn 'app:create_app()'`, `flask --app app …`."""

import os
from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from extensions import babel, csrf, db, limiter, login_manager, migrate
from rules import locales
from web import page_cache, rendering, security


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.load(app.instance_path, test_config))
    if app.config["TRUSTED_PROXY_COUNT"]:
        # The client's address from X-Forwarded-For, as set by that many proxies in front (limits use it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXY_COUNT"])  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    app.after_request(rendering.add_vary)
    app.after_request(security.add_headers)
    return app


def register_extensions(app: Flask) -> None:
    import models  # noqa: F401  (tables known to Alembic)

    page_cache.init_app(app)  # first: a hit skips the other hooks
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=locales.select_locale,
        default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_account)
    from rules import order_states

    app.jinja_env.globals.update(
        LOCALES=locales.LOCALES,
        HTML_LANG=locales.HTML_LANG,
        STATE_NAMES=order_states.STATE_NAMES,
        OrderState=order_states.OrderState,
        order_states=order_states,
        current_locale=locales.current,
        localized_name=locales.localized_name,
    )
    from rules import formatting

    formatting.register(app)
    # A global, not an import in each template: render_block skips a template's top-level imports.
    forms_macros: Any = app.jinja_env.get_template("_forms.html").module  # macros are its attributes
    app.jinja_env.globals["field"] = forms_macros.field


def _load_account(session_id: str):
    from flask import session

    from models import Account
    from rules import accounts

    account_id, _, token = session_id.partition(":")
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    if account is None or token != account.session_token:
        return None
    if not accounts.session_alive():
        session.clear()  # too old or unused too long: signed out
        return None
    return account


def register_blueprints(app: Flask) -> None:
    from blueprints import account_orders, auth, cards, checkout, main, payments, plans, sandbox, sandbox_alipay

    for module in (main, auth, cards, plans, checkout, payments, account_orders):
        app.register_blueprint(module.bp)
    if app.config["SANDBOX"]:
        app.register_blueprint(sandbox.bp)
        app.register_blueprint(sandbox_alipay.bp)


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: HTTPException):
        message = error.description if isinstance(error, CSRFError) else None
        return rendering.render_page("errors/error.html", status=error.code or 500, error=error, message=message)

    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_error)

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return render_template("errors/error.html", error=error, message=None), 500


def register_commands(app: Flask) -> None:
    import jobs
    from sandbox import demo_data

    app.cli.add_command(demo_data.seed_demo)
    app.cli.add_command(jobs.jobs_cli)
    app.cli.add_command(jobs.orders_cli)
    app.cli.add_command(jobs.reconcile_command)
