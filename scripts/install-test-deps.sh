#!/usr/bin/env bash
# Installs what the integration tests need when it is missing: a real pcscd
# with the vsmartcard vpcd driver and libpcsclite headers (PC/SC tests),
# and Debian's chromium with CJK fonts (browser tests), strace (fault
# injection into a running kioskd), espeak-ng (speech mode), and for the
# Debian package and the kiosk screen: lintian, systemd-analyze, cage with
# xwayland. One `apt-get update` at most.
set -euo pipefail
need=()
command -v pcscd >/dev/null 2>&1 || need+=(pcscd)
[ -f /usr/include/PCSC/winscard.h ] || need+=(libpcsclite-dev)
ls /usr/lib/pcsc/drivers/serial/libifdvpcd.so* >/dev/null 2>&1 || need+=(vsmartcard-vpcd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Chinese and Vietnamese glyphs for the page in Chromium (screenshots).
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
# The fsync-before-accept test makes kioskd's syncs fail with strace's fault injection.
command -v strace >/dev/null 2>&1 || need+=(strace)
# The fleet test: a real Prometheus server and promtool (rule unit tests).
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# Speech mode: the prompts are synthesised with espeak-ng (voices cmn, vi, en).
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
# The package test: lintian on the .deb, systemd-analyze verify on its units.
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
command -v make >/dev/null 2>&1 || need+=(make)
# kioskd screen: the cage Wayland kiosk compositor (headless in tests), with
# Xwayland as a terminal has it.
command -v cage >/dev/null 2>&1 || need+=(cage)
command -v Xwayland >/dev/null 2>&1 || need+=(xwayland)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "install-test-deps: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
