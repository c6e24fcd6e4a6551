#!/usr/bin/env bash
# Vendor a pinned htmx release from the npm registry into static/ and print its sha256.
#   scripts/refresh-htmx.sh 2.0.11
# Then update the <script> tag in templates/base.html and the version and checksum in README.md.
set -euo pipefail
version=${1:?usage: $0 VERSION}
cd "$(dirname "$0")/../static"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$version" >/dev/null && tar xzf "htmx.org-$version.tgz")
cp "$tmp/package/dist/htmx.min.js" "htmx-$version.min.js"
sha256sum "htmx-$version.min.js"
