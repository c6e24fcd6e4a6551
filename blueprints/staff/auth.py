"""Staff sign-in: username and password, then a TOTP code (enrolling first when it is required)."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.main import safe_next
from blueprints.staff import bp
from extensions import db
from rules.staff import audit, staff_accounts
from web import staff_auth
from web.forms import EmptyForm
from web.rendering import redirect_after_post, redirect_full_page, render_page
from web.staff_auth import staff_public, staff_required
from web.staff_forms import StaffLoginForm, TotpForm


def _target(next_url: str | None, staff=None) -> str:
    return safe_next(next_url, staff_auth.home_url(staff))


@bp.route("/login", methods=["GET", "POST"])
@staff_public
def login():
    """The first step: username and password (limited per username and per address)."""
    if staff_auth.current_staff() is not None:
        return redirect(_target(request.args.get("next")))
    form = StaffLoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            staff = staff_accounts.check_password(form.username.data, form.password.data, request.remote_addr)
        except staff_accounts.StaffRefused as error:
            db.session.commit()  # the failure counts
            form.password.errors.append(str(error))
            status = 429 if isinstance(error, staff_accounts.TooManyAttempts) else 422
        else:
            if staff.totp_enabled or staff_accounts.totp_required(staff):
                staff_auth.start_pending(staff)
                db.session.commit()
                flash_next = safe_next(form.next.data, "")
                return redirect_after_post(url_for("staff.login_code", next=flash_next or None))
            staff_auth.sign_in(staff)
            audit.record(staff, "sign_in", after={"totp": False})
            db.session.commit()
            return redirect_full_page(_target(form.next.data, staff))
    elif form.errors:
        status = 422
    return render_page("staff/login.html", form=form, status=status)


@bp.route("/login/code", methods=["GET", "POST"])
@staff_public
def login_code():
    """The second step: the code from the authenticator app; first time, scan the QR code."""
    staff = staff_auth.pending_staff()
    if staff is None:
        flash(_("Sign in again: that took too long."), "error")
        return redirect(url_for("staff.login"))
    enrolling = not staff.totp_enabled
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        try:
            staff_accounts.check_code(staff, form.code.data, request.remote_addr)
        except staff_accounts.StaffRefused as error:
            db.session.commit()
            form.code.errors.append(str(error))
            status = 429 if isinstance(error, staff_accounts.TooManyAttempts) else 422
        else:
            staff_auth.sign_in(staff)
            audit.record(staff, "sign_in", after={"totp": True, "enrolled_now": enrolling})
            db.session.commit()
            return redirect_full_page(_target(request.args.get("next"), staff))
    elif form.errors:
        status = 422
    qr = secret = None
    if enrolling:
        secret = staff_accounts.start_enrolment(staff)
        qr = staff_accounts.qr_svg(staff)
        db.session.commit()
    return render_page("staff/code.html", form=form, staff=staff, qr=qr, secret=secret, status=status)


@bp.post("/logout")
@staff_public
def logout():
    """Sign out of the staff area; every copy of this session ends too."""
    if EmptyForm().validate_on_submit():
        staff = staff_auth.current_staff()
        if staff is not None:
            audit.record(staff, "sign_out")
        staff_auth.sign_out(staff)
        db.session.commit()
    return redirect_full_page(url_for("staff.login"))


@bp.route("/security", methods=["GET", "POST"])
@staff_required("agent", partner=True)
def security():
    """Two-step sign-in for one's own account: required for supervisors and admins, optional for agents."""
    staff = staff_auth.current_staff()
    assert staff is not None
    form = TotpForm()
    status = 200
    if not staff.totp_enabled and form.validate_on_submit():
        try:
            staff_accounts.check_code(staff, form.code.data, request.remote_addr)
        except staff_accounts.StaffRefused as error:
            db.session.commit()
            form.code.errors.append(str(error))
            status = 422
        else:
            audit.record(staff, "totp_enabled")
            db.session.commit()
            flash(_("Two-step sign-in is on. You will need a code from your app at each sign-in."))
            return redirect_after_post(url_for("staff.security"))
    qr = secret = None
    if not staff.totp_enabled:
        secret = staff_accounts.start_enrolment(staff)
        qr = staff_accounts.qr_svg(staff)
        db.session.commit()
    return render_page("staff/security.html", form=form, staff=staff, qr=qr, secret=secret, status=status)
