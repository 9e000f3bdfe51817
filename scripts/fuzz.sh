#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each
# (go test -fuzz takes one target per run). Seeds in testdata/fuzz run in
# `make unit` already; this explores beyond them.
set -euo pipefail
fuzztime=${1:-3s}
tags=${2:-}
fail=0
for pkg in $(go list ./...); do
  for target in $(go test -tags "$tags" -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    if ! go test -tags "$tags" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log; fail=1
    fi
  done
done
rm -f /tmp/fuzz.$$.log
exit $fail
