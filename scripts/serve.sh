#!/usr/bin/env bash
# The site on http://127.0.0.1:$PORT (gunicorn; PORT defaults to 8000) with one job worker beside it;
# Ctrl-C stops both. PUBLIC_BASE_URL (the address in links sent to Alipay) follows PORT unless set
# (config.py). While it serves, the address is left in instance/site_address, so a flask command run
# from another shell (flask reconcile, money …) reaches this site and its sandbox without PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
export PORT=${PORT:-8000}
export FLASK_APP=app
mkdir -p -m 700 instance
echo "http://127.0.0.1:$PORT" >instance/site_address
$BIN/flask jobs run --sleep 5 &
worker=$!
trap 'kill $worker 2>/dev/null || true; rm -f instance/site_address' EXIT
$BIN/gunicorn --workers 2 --threads 4 --bind "127.0.0.1:$PORT" --access-logfile - 'app:create_app()'
