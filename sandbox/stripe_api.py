"""The sandbox Stripe's HTTP manners (sandbox mode only): the Bearer key, Stripe's error JSON, list
pages, created[...] filters, and Idempotency-Key (a POST repeated with the same key and parameters
gets the first answer again, marked Idempotent-Replayed; with other parameters, an idempotency_error;
while the first still runs, 409)."""

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from extensions import db
from sandbox.stripe_models import SandboxStripeRequest

MAX_LIMIT = 100


class ApiError(Exception):
    """An answer in Stripe's error shape: {"error": {"type", "message", "code", "param"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ):
        super().__init__(message)
        self.status, self.code, self.param, self.kind = status, code, param, kind

    def body(self) -> dict:
        error = {"type": self.kind, "message": str(self)}
        error.update({name: value for name, value in (("code", self.code), ("param", self.param)) if value})
        return {"error": error}


def check_key(authorization: str | None) -> None:
    """Only the app's own secret key (Authorization: Bearer sk_…) may call the API."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme != "Bearer" or not secrets.compare_digest(key.encode(), current_app.config["STRIPE_SECRET_KEY"].encode()):
        raise ApiError(401, "Invalid API Key provided.", kind="invalid_request_error")


def integer(params: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = params.get(name)
    if text is None and default is not None:
        return default
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ApiError(400, f"Invalid integer: {text!r}", "parameter_invalid_integer", name)
    return int(text)


def created_filter(params: Mapping[str, str]) -> Callable[[int], bool]:
    """created=…, created[gte|gt|lte|lt]=… (Unix seconds) as a test on a timestamp."""
    bounds = {op: integer(params, f"created[{op}]") for op in ("gte", "gt", "lte", "lt") if f"created[{op}]" in params}
    exact = integer(params, "created") if "created" in params else None

    def keep(created: int) -> bool:
        checks = {"gte": created >= bounds.get("gte", created), "gt": "gt" not in bounds or created > bounds["gt"]}
        checks.update(lte=created <= bounds.get("lte", created), lt="lt" not in bounds or created < bounds["lt"])
        return all(checks.values()) and (exact is None or created == exact)

    return keep


def page(items: list[dict], params: Mapping[str, str], url: str) -> dict:
    """A list object of `items` (newest first), from after `starting_after`, `limit` at most."""
    limit = min(max(integer(params, "limit", 10), 1), MAX_LIMIT)
    after = params.get("starting_after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise ApiError(400, f"No such object: '{after}'", "resource_missing", "starting_after")
        items = items[ids.index(after) + 1 :]
    return {"object": "list", "url": url, "has_more": len(items) > limit, "data": items[:limit]}


def fingerprint(method: str, path: str, params: Mapping[str, str]) -> str:
    text = json.dumps([method, path, sorted(params.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent(key: str | None, print_: str, run: Callable[[], tuple[int, dict]]) -> tuple[int, Any, bool]:
    """(status, body, replayed) of a POST: run once per Idempotency-Key, the first answer kept.

    The key is claimed (a row, committed) before the request runs, so two at once never both run.
    """
    if not key:
        status, body = run()
        return status, body, False
    try:
        db.session.add(SandboxStripeRequest(idempotency_key=key[:255], fingerprint=print_))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        kept = db.session.get(SandboxStripeRequest, key[:255])
        if kept is None or kept.fingerprint != print_:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they were first used with."
            )
            raise ApiError(400, message, "idempotency_key_in_use", kind="idempotency_error") from None
        if kept.status is None:
            message = "There is currently another in-progress request using this Idempotent Key."
            raise ApiError(409, message, "idempotency_key_in_use", kind="idempotency_error") from None
        return kept.status, json.loads(kept.body or "{}"), True
    try:
        status, body = run()
    except ApiError as error:
        status, body = error.status, error.body()
    db.session.execute(
        update(SandboxStripeRequest)
        .where(SandboxStripeRequest.idempotency_key == key[:255])
        .values(status=status, body=json.dumps(body))
    )
    db.session.commit()
    return status, body, False
