"""Sending SMS with Twilio's Messages API (the `twilio` library), behind the outbox's SmsProvider.

A 4xx answer (bad number, unverified sender, blocked) is permanent: retrying cannot help. A 429,
a 5xx, a timeout or a network failure is temporary: the message stays queued and the job retries.
`api_base` points the client at another host (a local stub in tests) instead of api.twilio.com.
"""

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateways.sms import SmsError, SmsProvider

TWILIO_API = "https://api.twilio.com"


class _RebasedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to `api_base` instead of Twilio's API host."""

    def __init__(self, api_base: str, timeout: float):
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.api_base and url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioProvider(SmsProvider):
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_: str, *, api_base: str = "", timeout: float = 10):
        self.from_ = from_
        self.client = Client(account_sid, auth_token, http_client=_RebasedHttpClient(api_base, timeout))

    def send(self, to_phone: str, body: str) -> None:
        try:
            self.client.messages.create(to=to_phone, from_=self.from_, body=body)
        except TwilioRestException as error:
            permanent = 400 <= error.status < 500 and error.status != 429
            raise SmsError(f"twilio {error.status} {error.code or ''}".strip(), permanent=permanent) from None
        except (requests.RequestException, TwilioException) as error:
            raise SmsError(f"twilio unreachable: {type(error).__name__}") from None
