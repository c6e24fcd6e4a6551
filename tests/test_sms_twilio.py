"""The Twilio SMS provider against a local stub of Twilio's Messages API (127.0.0.1, no network)."""

import base64
import json
import time
import urllib.parse

import pytest
from conftest import post_form
from http_stub import posting_server
from sqlalchemy import select

from extensions import db
from gateways import sms
from gateways.sms_twilio import TwilioProvider
from models import SmsMessage

SID, TOKEN, FROM = "AC" + "0" * 32, "test-auth-token", "+15005550006"


class Stub:
    """Answers like Twilio: 201 with the message, or the error it is told to give."""

    def __init__(self):
        self.requests, self.answers = [], []

    def __call__(self, path, headers, body):
        self.requests.append((path, headers.get("Authorization"), urllib.parse.parse_qs(body.decode())))
        status, delay = self.answers.pop(0) if self.answers else (201, 0)
        time.sleep(delay)
        if status == 201:
            return 201, json.dumps({"sid": "SM" + "1" * 32, "status": "queued", "to": "x", "from": FROM}).encode()
        error = {"code": 21211 if status == 400 else 20500, "message": "error", "status": status}
        return status, json.dumps(error).encode()


@pytest.fixture
def twilio(app_with):
    stub = Stub()
    with posting_server(stub) as base:
        app = app_with(
            SMS_PROVIDER="twilio",
            TWILIO_ACCOUNT_SID=SID,
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_FROM=FROM,
            TWILIO_API_BASE=base,
            TWILIO_TIMEOUT=0.5,
        )
        yield app, stub


def queued(app, body="Your data is on", purpose="order_paid"):
    with app.app_context():
        message = sms.queue("+85291234567", body, purpose)
        db.session.commit()
        return message.id


def deliver(app, message_id):
    with app.app_context():
        ok = sms.send_now(message_id)
        message = db.session.get(SmsMessage, message_id)
        return ok, (message.status, message.attempts, message.last_error, message.body)


def test_the_provider_is_twilio_when_configured(twilio):
    app, _stub = twilio
    assert isinstance(app.extensions["sms_provider"], TwilioProvider)


def test_a_message_is_posted_to_the_messages_api_with_the_account_credentials(twilio):
    app, stub = twilio
    ok, state = deliver(app, queued(app))
    assert ok and state[:2] == ("sent", 1)
    ((path, auth, form),) = stub.requests
    assert path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert auth == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert form == {"To": ["+85291234567"], "From": [FROM], "Body": ["Your data is on"]}


def test_a_4xx_is_a_permanent_failure_not_retried(twilio):
    app, stub = twilio
    stub.answers = [(400, 0)]
    ok, (status, attempts, error, _body) = deliver(app, queued(app))
    assert not ok and status == "failed" and attempts == 1 and "400" in error and "21211" in error
    with app.app_context():
        assert sms.send_queued() == 0
    assert len(stub.requests) == 1


@pytest.mark.parametrize("answer", [(500, 0), (503, 0), (429, 0), (201, 1.5)], ids=["500", "503", "429", "timeout"])
def test_a_5xx_a_429_or_a_timeout_leaves_the_message_queued_and_the_job_retries_it(twilio, answer):
    app, stub = twilio
    stub.answers = [answer]
    message_id = queued(app)
    ok, (status, attempts, error, _body) = deliver(app, message_id)
    assert not ok and status == "queued" and attempts == 1 and error
    with app.app_context():
        assert sms.send_queued() == 1
        assert db.session.get(SmsMessage, message_id).status == "sent"


def test_a_sign_in_code_is_removed_from_the_outbox_once_sent(twilio):
    app, stub = twilio
    client = app.test_client()
    assert post_form(client, "/login", phone="+85291234567").status_code == 303
    (_path, _auth, form) = stub.requests[0]
    assert "RoamRenew code:" in form["Body"][0]  # the traveller's phone got the code
    with app.app_context():
        message = db.session.scalars(select(SmsMessage)).one()
        assert message.status == "sent" and message.body == sms.REDACTED


def test_a_sign_in_code_that_could_not_be_sent_is_removed_too(twilio):
    app, stub = twilio
    stub.answers = [(400, 0)]
    ok, (status, _attempts, _error, body) = deliver(app, queued(app, "RoamRenew code: 123456", "login_code"))
    assert not ok and status == "failed" and body == sms.REDACTED
