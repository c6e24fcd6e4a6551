"""Sign in with a mobile number and a one-time SMS code; sign out."""

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.main import safe_next
from extensions import db, limiter
from gateways import sms
from rules.text import locales
from rules.text.formatting import mask_phone
from rules.travellers import login_codes, phones
from web import traveller_sessions
from web.forms import CodeForm, EmptyForm, PhoneForm
from web.rendering import redirect_after_post, redirect_full_page, render_page

bp = Blueprint("auth", __name__)


def _limit(name: str):
    return lambda: current_app.config[name]


# The hourly limits per number and per address are counted in the database (login_codes);
# Flask-Limiter, whose counts are per app server, only cuts bursts short.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("SIGNIN_BURST_LIMIT"), methods=["POST"])
def login():
    """Ask for the mobile number and text it a code."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("account.index")))
    form = PhoneForm(next=request.args.get("next", ""))
    refused = 422
    if form.validate_on_submit():
        try:
            phone = phones.normalise(form.phone.data)
            message_id = login_codes.send_code(phone, request.remote_addr)
        except (phones.InvalidPhone, login_codes.CodeRefused) as error:
            form.phone.errors.append(str(error))
            if isinstance(error, login_codes.TooManyCodes):
                refused = 429
        else:
            db.session.commit()
            sms.send_now(message_id)  # after the commit: no lock held while the provider answers
            session["login_phone"], session["login_next"] = phone, safe_next(form.next.data, "")
            return redirect_after_post(url_for("auth.code"))
        db.session.rollback()
    return render_page("auth/login.html", form=form, status=refused if form.errors else 200)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_limit("VERIFY_IP_LIMIT"), methods=["POST"])
def code():
    """Check the code; on success rotate the session and go where the traveller was heading."""
    phone = session.get("login_phone")
    if not phone:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            login_codes.check_code(phone, form.code.data, ip=request.remote_addr)
        except login_codes.CodeRefused as error:
            form.code.errors.append(str(error))
            db.session.commit()  # the try counts
        else:
            target = safe_next(session.get("login_next"), url_for("account.index"))
            traveller_sessions.sign_in(phone, locales.current())
            db.session.commit()
            return redirect_full_page(target)
    return render_page(
        "auth/code.html",
        form=form,
        masked_phone=mask_phone(phone),
        resend_form=EmptyForm(),
        wait=login_codes.seconds_until_resend(phone, ip=request.remote_addr),
        status=422 if form.errors else 200,
    )


@bp.post("/login/resend")
@limiter.limit(_limit("SIGNIN_BURST_LIMIT"))
def resend():
    """Text a new code to the number being signed in."""
    phone = session.get("login_phone")
    if not phone or not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.login"))
    try:
        message_id = login_codes.send_code(phone, request.remote_addr)
        db.session.commit()
        sms.send_now(message_id)
        flash(_("A new code is on its way."))
    except login_codes.CodeRefused as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect_after_post(url_for("auth.code"))


@bp.post("/logout")
@login_required
def logout():
    """Sign out here and invalidate every copy of this session."""
    if EmptyForm().validate_on_submit():
        traveller_sessions.sign_out(current_user._get_current_object())
        db.session.commit()
        flash(_("You are signed out."))  # after sign_out, which clears the session
    return redirect_full_page(url_for("main.home"))


@bp.post("/logout/others")
@login_required
def logout_others():
    """Keep this session and end every other one (a lost phone, a shared computer)."""
    if EmptyForm().validate_on_submit():
        traveller_sessions.sign_out_others(current_user._get_current_object())
        db.session.commit()
        flash(_("You are signed out on every other device."))
    return redirect_after_post(url_for("account.index"))
