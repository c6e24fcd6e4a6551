#!/usr/bin/env bash
# The site on http://127.0.0.1:8000 (gunicorn) with one job worker beside it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export FLASK_APP=app
$BIN/flask jobs run --sleep 5 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT
$BIN/gunicorn --workers 2 --threads 4 --bind 127.0.0.1:8000 --access-logfile - 'app:create_app()'
