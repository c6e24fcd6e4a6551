"""The application factory: `gunicorn 'app:create_app()'`, `flask --app app …`."""

import logging
import os
import sys
from typing import Any

from flask import Flask, make_response, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import Conflict, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from extensions import babel, csrf, db, limiter, login_manager, migrate
from gateways import sms
from rules.text import locales
from web import (
    access_log,
    compression,
    db_failures,
    locale_choice,
    log_safety,
    page_cache,
    query_count,
    rendering,
    request_guard,
    security,
    static_files,
    template_filters,
    template_i18n,
    template_urls,
)

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    log_safety.install()
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    try:
        app.config.from_mapping(config.load(app.instance_path, test_config))
    except config.ConfigError as error:
        if test_config is not None:
            raise
        # `flask …` and gunicorn workers: one line saying what is missing, not a traceback.
        print(error, file=sys.stderr)
        raise SystemExit(4) from None  # 4: gunicorn's "app failed to load", so it stops instead of retrying
    config.secure_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # The client's address from X-Forwarded-For, as set by that many proxies in front (limits use it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXY_COUNT"])  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    access_log.learn_secret_routes(app.url_map)  # gunicorn's access log masks their tokens
    db_failures.init_app(app)
    app.after_request(rendering.add_vary)
    app.after_request(security.add_headers)
    app.after_request(security.private_pages)
    logging.getLogger("twilio").setLevel(logging.WARNING)  # it logs request URLs and headers at INFO
    query_count.init_app(app)
    return app


def check_config() -> None:
    """Raise ConfigError ("RoamRenew cannot start: …") unless the settings are complete (gunicorn.conf.py)."""
    config.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance"))


def register_extensions(app: Flask) -> None:
    import models  # noqa: F401  (tables known to Alembic)
    import sandbox.models  # (the sandbox's own tables, likewise)
    import sandbox.stripe_models  # noqa: F401  (the Stripe sandbox's tables)

    page_cache.init_app(app)  # first: a hit skips the other hooks
    compression.init_app(app)  # next: its after_request runs just before the cache keeps the page
    static_files.init_app(app)
    request_guard.init_app(app)  # before anything reads the body
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=locale_choice.select_locale,
        default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_account)
    sms.init_app(app)
    from sandbox.carrier_sim import SimulatedCarrier

    app.extensions["simulated_carrier"] = SimulatedCarrier()  # gateways.carrier.carrier() for CARRIER=simulated
    from rules.offers import catalogue
    from rules.ordering import order_states

    app.jinja_env.globals.update(
        plan_on_sale=catalogue.on_sale,  # plans/_price.html, included by every page that prices a plan
        plan_price_now=catalogue.current_price_cents,
        LOCALES=locales.LOCALES,
        HTML_LANG=locales.HTML_LANG,
        STATE_NAMES=order_states.STATE_NAMES,
        OrderState=order_states.OrderState,
        order_states=order_states,
        current_locale=locales.current,
        localized_name=locales.localized_name,
    )
    template_filters.register(app)
    template_i18n.init_app(app)
    template_urls.init_app(app)
    # A global, not an import in each template: render_block skips a template's top-level imports.
    forms_macros: Any = app.jinja_env.get_template("_forms.html").module  # macros are its attributes
    app.jinja_env.globals["field"] = forms_macros.field
    app.jinja_env.globals["card_name"] = app.jinja_env.get_template("_card_name.html").module.card_name  # type: ignore[attr-defined]


def _load_account(session_id: str):
    from flask import session

    from models import Account
    from web import traveller_sessions

    account_id, _, token = session_id.partition(":")
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    if account is None or token != account.session_token:
        return None
    if not traveller_sessions.session_alive():
        session.clear()  # too old or unused too long: signed out
        return None
    return account


def register_blueprints(app: Flask) -> None:
    from blueprints import (
        account,
        account_orders,
        auth,
        cards,
        checkout,
        main,
        payments,
        plans,
        renew_links,
        sandbox,
        sandbox_alipay,
        sandbox_stripe,
        sandbox_wechat,
        shops,
        staff,
        topup,
    )

    for module in (
        main,
        auth,
        account,
        cards,
        plans,
        checkout,
        payments,
        account_orders,
        renew_links,
        topup,
        shops,
        staff,
    ):
        app.register_blueprint(module.bp)
    if app.config["SANDBOX"]:
        app.register_blueprint(sandbox.bp)
        app.register_blueprint(sandbox_alipay.bp)
        app.register_blueprint(sandbox_wechat.bp)
        app.register_blueprint(sandbox_stripe.bp)


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: HTTPException):
        message = error.description if isinstance(error, CSRFError) else None
        return rendering.render_page("errors/error.html", status=error.code or 500, error=error, message=message)

    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_error)

    @app.errorhandler(IntegrityError)
    def conflict(error: IntegrityError | OperationalError):
        # Two requests raced for one unique row (e.g. the same card bound twice at once): the
        # loser changes nothing and is asked to look again, instead of seeing a 500.
        db.session.rollback()
        log.warning("conflicting write refused on %s %s (%s)", request.method, request.path, type(error.orig).__name__)
        return rendering.render_page("errors/error.html", status=409, error=Conflict(), message=None)

    @app.errorhandler(SQLAlchemyError)
    def database_failed(error: SQLAlchemyError):
        # SQLite refuses one of two transactions that both want to write ("database is locked"):
        # the same outcome as a lost race. The database gone, restarting, timing out or choosing
        # this request as a deadlock's victim twice: 503, in words. Anything else is a real failure.
        if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
            return conflict(error)
        if not db_failures.is_unavailable(error):
            raise error
        _rollback_quietly()
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
        try:
            response = make_response(rendering.render_page("errors/unavailable.html", status=503))
        except SQLAlchemyError:  # the page itself needed the database (e.g. to load the signed-in account)
            _rollback_quietly()
            response = make_response(db_failures.PLAIN_PAGE, 503)
        response.headers["Retry-After"] = str(db_failures.RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(500)
    def internal_error(error):
        _rollback_quietly()
        # Through the page/fragment helper, so an htmx swap gets the error block, not a whole page.
        return rendering.render_page("errors/error.html", status=500, error=error, message=None)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone: nothing to roll back
        log.warning("rollback failed: the database connection is gone")


def register_commands(app: Flask) -> None:
    import jobs
    from commands import money
    from sandbox import carrier_sim, demo_data

    app.cli.add_command(demo_data.seed_demo)
    app.cli.add_command(carrier_sim.carrier_cli)
    app.cli.add_command(jobs.jobs_cli)
    app.cli.add_command(jobs.orders_cli)
    app.cli.add_command(money.money_cli)
    app.cli.add_command(jobs.reconcile_command)
