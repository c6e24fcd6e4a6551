"""The outbox: a message is claimed before the provider is called, so nothing is held while it
answers, and two senders never send one message twice."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from extensions import db
from gateways import sms
from models import SmsMessage, SmsStatus


class SlowProvider(sms.SmsProvider):
    """Stands in for the provider's HTTP API: slow, and it counts what it was asked to send."""

    name = "slow"

    def __init__(self, app, pause: float = 0.3):
        self.app, self.pause, self.sent, self.write_during_send = app, pause, [], None

    def send(self, to_phone: str, body: str) -> None:
        self.sent.append(body)
        # Another writer of the same row (a second process, here a second connection) must not wait
        # for this call: it would wait forever for a row lock held across it (lock_timeout ends that).
        with self.app.app_context(), db.engine.connect() as other:
            if other.dialect.name == "postgresql":
                other.execute(db.text("SET lock_timeout = '2s'"))
            other.execute(db.update(SmsMessage).values(last_error=SmsMessage.last_error))
            other.commit()
            self.write_during_send = True
        threading.Event().wait(self.pause)


def queued(app, body="Your data is on") -> int:
    with app.app_context():
        message = sms.queue("+85291234567", body, "order_paid")
        db.session.commit()
        return message.id


def test_no_write_is_held_while_the_provider_answers(app):
    provider = app.extensions["sms_provider"] = SlowProvider(app)
    message_id = queued(app)
    with app.app_context():
        assert sms.send_now(message_id)
        assert db.session.get(SmsMessage, message_id).status == SmsStatus.SENT
    assert provider.write_during_send


def test_two_senders_at_once_send_a_message_once(app):
    provider = app.extensions["sms_provider"] = SlowProvider(app)
    message_id = queued(app)
    start = threading.Barrier(2)

    def send(_):
        with app.app_context():
            start.wait(timeout=10)
            return sms.send_now(message_id)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(send, range(2)))
    assert results == [False, True]
    assert provider.sent == ["Your data is on"]


def test_a_message_left_sending_by_a_stopped_worker_is_not_sent_again(app):
    provider = app.extensions["sms_provider"] = SlowProvider(app)
    message_id = queued(app)
    with app.app_context():
        db.session.execute(db.update(SmsMessage).values(status=SmsStatus.SENDING))
        db.session.commit()
        assert sms.send_queued() == 0
        assert db.session.scalar(select(SmsMessage.status).where(SmsMessage.id == message_id)) == "sending"
    assert provider.sent == []
