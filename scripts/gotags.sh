#!/usr/bin/env bash
# Prints the Go build tags for this machine: `pcsc` when libpcsclite (with
# headers) is installed, so the real PC/SC reader driver is built; nothing
# otherwise, and kioskd then runs on its simulated readers only.
pkg-config --exists libpcsclite 2>/dev/null && echo pcsc || true
