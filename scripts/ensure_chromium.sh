#!/bin/sh
# The dashboard's browser tests drive the system Chromium (/usr/bin/chromium) with Playwright;
# Playwright's own browser download is not used (no network beyond the package registries).
# Install Debian's package when it is missing; say exactly what to do when we cannot.
set -eu
BROWSER="${SILKGUARD_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BROWSER" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $BROWSER is missing and apt-get is not available; install Chromium" \
         "and set SILKGUARD_CHROMIUM to its path" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
echo "ensure_chromium: installing Debian's chromium package (for the browser tests)"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
  || { $SUDO apt-get update -q >/dev/null && \
       $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
test -x "$BROWSER" || { echo "ensure_chromium: chromium installed but $BROWSER is missing" >&2; exit 1; }
