"""Text messages: queued in the outbox table, sent by a provider, never sent twice.

A message moves queued → sending → sent | failed (or back to queued to be retried). A message left
"sending" by a worker that stopped mid-send is not sent again (it may have gone out): staff see it.

The provider is an interface; the embedded default (sandbox) just marks a message sent, and the
sandbox page /sandbox/sms shows the outbox. A real gateway adapter implements `send`
(SMS_PROVIDER=twilio: gateways/sms_twilio.py).

A sign-in code stays readable in the outbox only until a real provider has sent it (or given up):
then its body is replaced, so the table never holds working codes.
"""

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import SmsMessage, SmsStatus, utcnow

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


def send_now(message_id: int) -> bool:
    """Send one queued message now (the traveller is waiting for a code); the job retries a failure.

    Commits: the message is claimed (queued → sending) and committed before the provider is called,
    and the outcome is written in a second short transaction, so no row lock or write is held while
    the provider answers, and two senders never send one message twice.
    """
    claimed = _claim(message_id)
    db.session.commit()
    if claimed is None:
        return False
    return _send_claimed(message_id, *claimed)


def _claim(message_id: int) -> tuple[str, str, str, int] | None:
    """(to_phone, body, purpose, attempts) of a message this sender now holds, or None if another has it."""
    moved = db.session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == SmsStatus.QUEUED)
        .values(status=SmsStatus.SENDING, attempts=SmsMessage.attempts + 1)
        .returning(SmsMessage.to_phone, SmsMessage.body, SmsMessage.purpose, SmsMessage.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    return None if moved is None else tuple(moved)  # type: ignore[return-value]


def _send_claimed(message_id: int, to_phone: str, body: str, purpose: str, attempts: int) -> bool:
    sender = provider()
    values: dict = {}
    try:
        sender.send(to_phone, body)
    except SmsError as error:
        values["last_error"] = str(error)[:200]
        given_up = error.permanent or attempts >= MAX_ATTEMPTS
        values["status"] = SmsStatus.FAILED if given_up else SmsStatus.QUEUED
    else:
        values.update(status=SmsStatus.SENT, sent_at=utcnow())
    if values["status"] != SmsStatus.QUEUED and _redacts(purpose, sender):
        values["body"] = REDACTED
    db.session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == SmsStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return values["status"] == SmsStatus.SENT


def _redacts(purpose: str, sender: SmsProvider) -> bool:
    # In sandbox mode the outbox page is the traveller's phone: the code must stay readable there.
    return purpose in SECRET_PURPOSES and not isinstance(sender, SandboxProvider)


def send_queued(limit: int = 50) -> int:
    """Send queued messages, oldest first, each claimed and committed before the provider is called."""
    sent, tried = 0, [0]
    for _ in range(limit):
        message_id = db.session.scalar(
            select(SmsMessage.id)
            .where(SmsMessage.status == SmsStatus.QUEUED, SmsMessage.id.not_in(tried))  # once a round
            .order_by(SmsMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message_id is None:
            db.session.commit()
            break
        tried.append(message_id)
        sent += send_now(message_id)
    return sent
