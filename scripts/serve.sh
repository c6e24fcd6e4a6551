#!/usr/bin/env bash
# The site on http://127.0.0.1:$PORT (gunicorn; PORT defaults to 8000) with one job worker beside it;
# Ctrl-C stops both. PUBLIC_BASE_URL (the address in links sent to Alipay) follows PORT unless set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
export FLASK_APP=app
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
$BIN/flask jobs run --sleep 5 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT
$BIN/gunicorn --workers 2 --threads 4 --bind "127.0.0.1:$PORT" --access-logfile - 'app:create_app()'
