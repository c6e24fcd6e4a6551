"""Static files with content-hashed names, precompressed, served by WhiteNoise.

At app start every file in static/ is copied into STATIC_BUILD_DIR (git-ignored, under instance/)
under its own name and under a name with a hash of its content (app.css -> app.3f2a9c0b12de.css),
each with a .gz and a .br beside it. `url_for('static', filename='app.css')` gives the hashed name,
which never changes content, so it is cached for a year as immutable; the plain name stays
reachable with a short cache for anything that links it directly. WhiteNoise picks the .br or
.gz by Accept-Encoding (with Vary), and answers If-None-Match / If-Modified-Since with 304.

Building is idempotent and safe with several workers starting at once: names depend only on
content, and every file is written to a temporary name and renamed into place.
"""

import gzip
import hashlib
import os
import tempfile
import time

import brotli
from flask import Flask
from werkzeug.datastructures import Headers
from whitenoise import WhiteNoise

COMPRESSIBLE = (".css", ".js", ".svg", ".html", ".txt", ".json", ".xml", ".map")
HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"
STALE_AFTER = 24 * 3600  # seconds: old hashed copies kept a day for pages still open in browsers


def hashed_name(name: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def _write(path: str, data: bytes) -> None:
    """Write `path` atomically (a reader sees the old file or the new one, never half of one)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)  # a front server running as another user may serve them too
    os.replace(temporary, path)


def _same(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as existing:
            return existing.read() == data
    except FileNotFoundError:
        return False


def _write_with_variants(path: str, data: bytes) -> set[str]:
    """`path` and, for text files where it saves bytes, `path`.gz and `path`.br.

    The variants are written first, so another worker that finds `path` finds them too.
    """
    written = {path, path + ".gz", path + ".br"}
    if _same(path, data):
        return written
    if path.endswith(COMPRESSIBLE):
        for suffix, packed in (
            (".gz", gzip.compress(data, compresslevel=9, mtime=0)),
            (".br", brotli.compress(data, quality=11)),
        ):
            if len(packed) < len(data) * 0.95:
                _write(path + suffix, packed)
    _write(path, data)
    return written


def build(source: str, target: str) -> dict[str, str]:
    """Copy `source` into `target` with hashed names and compressed variants; the name manifest."""
    manifest: dict[str, str] = {}
    written: set[str] = set()
    for folder, _dirs, files in os.walk(source):
        for file in sorted(files):
            path = os.path.join(folder, file)
            name = os.path.relpath(path, source).replace(os.sep, "/")
            with open(path, "rb") as handle:
                data = handle.read()
            manifest[name] = hashed_name(name, data)
            written |= _write_with_variants(os.path.join(target, name), data)
            written |= _write_with_variants(os.path.join(target, manifest[name]), data)
    _prune(target, written)
    return manifest


def _prune(target: str, keep: set[str]) -> None:
    """Remove copies that no longer match a source file, once they are a day old."""
    cutoff = time.time() - STALE_AFTER
    for folder, _dirs, files in os.walk(target):
        for file in files:
            path = os.path.join(folder, file)
            try:
                if path not in keep and os.path.getmtime(path) < cutoff:
                    os.remove(path)
            except FileNotFoundError:
                pass  # another worker pruned it first


def init_app(app: Flask) -> None:
    """Build the static files and serve /static/ with WhiteNoise in front of the app."""
    if app.static_folder is None:
        return
    target = app.config.get("STATIC_BUILD_DIR") or os.path.join(app.instance_path, "static-build")
    manifest = build(app.static_folder, target)
    hashed = {"/static/" + name for name in manifest.values()}
    app.extensions["static_manifest"] = manifest

    @app.url_defaults
    def hashed_static_url(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.get(values["filename"], values["filename"])

    def add_headers(headers: Headers, _path: str, url: str) -> None:
        headers["Cache-Control"] = IMMUTABLE if url in hashed else SHORT
        headers["X-Content-Type-Options"] = "nosniff"

    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app,
        root=target,
        prefix="static/",
        add_headers_function=add_headers,
    )
