#!/usr/bin/env bash
# Starts the touch screen: Chromium fullscreen in kiosk mode on kioskd's UI,
# once kioskd answers. Run it from the terminal's graphical session
# (e.g. an autostart entry of the kiosk user). KIOSKD_UI and KIOSKD_MGMT
# override the embedded default's addresses; CHROMIUM the browser binary.
set -euo pipefail
ui=${KIOSKD_UI:-http://127.0.0.1:8080/}
mgmt=${KIOSKD_MGMT:-http://127.0.0.1:9100}
chromium=${CHROMIUM:-chromium}

# Wait for the daemon, so the citizen never sees a browser error page.
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null --max-time 2 "$mgmt/healthz" && break
  sleep 1
done

profile=$(mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/kioskd-browser.XXXXXX")
trap 'rm -rf "$profile"' EXIT
# A fresh profile each start: nothing a citizen typed survives a restart.
"$chromium" \
  --kiosk --app="$ui" \
  --user-data-dir="$profile" \
  --incognito \
  --noerrdialogs --disable-infobars --disable-session-crashed-bubble \
  --no-first-run --disable-translate --disable-features=Translate \
  --disable-pinch --overscroll-history-navigation=0 \
  --disable-background-networking --disable-component-update --disable-sync \
  --check-for-update-interval=31536000 \
  --touch-events=enabled
