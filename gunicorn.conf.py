"""gunicorn reads this file from the working directory: `gunicorn 'app:create_app()'`.

- The access log keeps no query strings and no receipt tokens (web/access_log.py).
- A production start with settings missing stops here, in the master, with one line
  ("Error: RoamRenew cannot start: …") and exit status 1, before any worker is forked.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from web.access_log import PrivateAccessLogger

logger_class = PrivateAccessLogger


def on_starting(server):
    """Check the settings in the master: a ConfigError (a RuntimeError) makes gunicorn print one line and exit."""
    import app

    app.check_config()
