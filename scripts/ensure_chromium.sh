#!/bin/sh
# The dashboard's browser tests drive the system Chromium (/usr/bin/chromium) with Playwright;
# Playwright's own browser download is not used (no network beyond the package registries).
# Install Debian's package when it is missing, with a small Chinese font so the screenshots of
# the Chinese pages show characters rather than boxes; say exactly what to do when we cannot.
set -eu
BROWSER="${SILKGUARD_CHROMIUM:-/usr/bin/chromium}"
FONT="fonts-wqy-microhei"
need=""
if [ ! -x "$BROWSER" ]; then
    need="chromium"
fi
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
    need="$need $FONT"
fi
if [ -z "$need" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    if [ ! -x "$BROWSER" ]; then
        echo "ensure_chromium: $BROWSER is missing and apt-get is not available; install Chromium" \
             "and set SILKGUARD_CHROMIUM to its path" >&2
        exit 1
    fi
    echo "ensure_chromium: no Chinese font; screenshots of the Chinese pages will show boxes" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
echo "ensure_chromium: installing Debian's $need (for the browser tests)"
# shellcheck disable=SC2086 # $need is a list of package names
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null \
  || { $SUDO apt-get update -q >/dev/null && \
       $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null; }
test -x "$BROWSER" || { echo "ensure_chromium: chromium installed but $BROWSER is missing" >&2; exit 1; }
