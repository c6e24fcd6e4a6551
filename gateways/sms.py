"""Text messages: queued in the outbox table, sent by a provider, never sent twice.

The provider is an interface; the embedded default (sandbox) just marks a message sent, and the
sandbox page /sandbox/sms shows the outbox. A real gateway adapter implements `send`
(SMS_PROVIDER=twilio: gateways/sms_twilio.py).

A sign-in code stays readable in the outbox only until a real provider has sent it (or given up):
then its body is replaced, so the table never holds working codes.
"""

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import SmsMessage, utcnow

MAX_ATTEMPTS = 5
SECRET_PURPOSES = {"login_code"}
REDACTED = "[removed after sending]"


class SmsProvider:
    name = "abstract"

    def send(self, to_phone: str, body: str) -> None:
        """Deliver one message or raise SmsError."""
        raise NotImplementedError


class SmsError(Exception):
    """Not delivered. `permanent`: retrying the same message cannot succeed (e.g. an invalid number)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SandboxProvider(SmsProvider):
    """Delivers nowhere: the outbox page is the phone."""

    name = "sandbox"

    def send(self, to_phone: str, body: str) -> None:
        return None


def provider() -> SmsProvider:
    return current_app.extensions.get("sms_provider") or SandboxProvider()


def init_app(app: Flask) -> None:
    """Install the provider named by SMS_PROVIDER (the outbox alone when it is not a real one)."""
    config = app.config
    if config.get("SMS_PROVIDER") == "twilio":
        from gateways.sms_twilio import TwilioProvider

        app.extensions["sms_provider"] = TwilioProvider(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_FROM"],
            api_base=config.get("TWILIO_API_BASE", ""),
            timeout=config.get("TWILIO_TIMEOUT", 10),
        )


def queue(to_phone: str, body: str, purpose: str, dedupe_key: str | None = None) -> SmsMessage | None:
    """Add a message to the outbox; with a dedupe_key already queued, add nothing and return None."""
    message = SmsMessage(to_phone=to_phone, body=body, purpose=purpose, dedupe_key=dedupe_key)
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        return None
    return message


def deliver(message: SmsMessage) -> bool:
    """Try to send one claimed message now; the caller commits."""
    message.attempts += 1
    sender = provider()
    try:
        sender.send(message.to_phone, message.body)
    except SmsError as error:
        message.last_error = str(error)[:200]
        if error.permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            _redact(message, sender)
        return False
    message.status, message.sent_at = "sent", utcnow()
    _redact(message, sender)
    return True


def _redact(message: SmsMessage, sender: SmsProvider) -> None:
    # In sandbox mode the outbox page is the traveller's phone: the code must stay readable there.
    if message.purpose in SECRET_PURPOSES and not isinstance(sender, SandboxProvider):
        message.body = REDACTED


def send_queued(limit: int = 50) -> int:
    """Send queued messages, each claimed with a row lock so two workers never send one twice."""
    sent = 0
    for _ in range(limit):
        message = db.session.scalars(
            select(SmsMessage)
            .where(SmsMessage.status == "queued")
            .order_by(SmsMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            break
        sent += deliver(message)
        db.session.commit()
    return sent
