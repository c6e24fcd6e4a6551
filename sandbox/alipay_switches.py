"""The sandbox gateway's switch for its server-to-server API: time out on a share of the calls.

Stored as a SandboxSetting row, so every worker sees it. A call chosen to time out is answered only
after the client's ALIPAY_TIMEOUT has passed: the client gives up first (the call still takes effect,
as when Alipay's answer is lost on the way), which the adapter must report as a GatewayError.
"""

import random
import time

from flask import current_app
from sqlalchemy import select

from extensions import db
from sandbox.models import SandboxSetting

TIMEOUT_KEY = "alipay_api_timeout_percent"
LATE_BY = 1.0  # seconds past the client's timeout


def timeout_percent(key: str = TIMEOUT_KEY) -> int:
    """The share of API calls (0-100) that time out now (`key`: another sandbox provider's switch)."""
    value = db.session.scalar(select(SandboxSetting.value).where(SandboxSetting.key == key))
    try:
        return min(100, max(0, int(value or 0)))
    except ValueError:
        return 0


def set_timeout_percent(percent: int, key: str = TIMEOUT_KEY) -> None:
    """Make `percent` % of API calls time out, on every worker (the caller commits)."""
    if not 0 <= percent <= 100:
        raise ValueError(percent)
    setting = db.session.get(SandboxSetting, key)
    if setting is None:
        db.session.add(SandboxSetting(key=key, value=str(percent)))
    else:
        setting.value = str(percent)


def stall_if_chosen(key: str = TIMEOUT_KEY, client_timeout: str = "ALIPAY_TIMEOUT") -> bool:
    """Wait past the client's timeout (the setting named `client_timeout`) for a share of calls; True
    if this call was one of them."""
    percent = timeout_percent(key)
    db.session.rollback()  # no transaction held while waiting
    if percent == 0 or random.random() * 100 >= percent:
        return False
    time.sleep(current_app.config[client_timeout] + LATE_BY)
    return True
