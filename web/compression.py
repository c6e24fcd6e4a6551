"""HTML (and any other text the app renders) compressed with Brotli or gzip by Accept-Encoding.

Flask-Compress adds `Vary: Accept-Encoding` to every response and leaves alone one that already
has a Content-Encoding: that is how a visitor's cached page (stored already compressed, one copy
per Accept-Encoding, see page_cache) is served without compressing it again. Static files are
precompressed instead (static_files).
"""

from flask import Flask
from flask_compress import Compress

compress = Compress()
DEFAULTS = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],  # every browser in use takes one of them
    "COMPRESS_BR_LEVEL": 5,  # about gzip -9's size at a fraction of a millisecond for a page
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,  # smaller answers gain less than the header costs
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/plain",
        "text/xml",
        "application/json",
        "application/javascript",
        "image/svg+xml",
    ],
}


def init_app(app: Flask) -> None:
    """Call after page_cache.init_app: hooks run in reverse, so the cache then keeps compressed bytes."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    compress.init_app(app)
