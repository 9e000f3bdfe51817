#!/usr/bin/env bash
# Runs the tests as `make unit` does (race detector on, every package, or
# those given after the tags, e.g. ./hwbridge/pcsc/ or ./kiosk/...) and
# shows what `go test` shows without -v, as it comes: each package's
# result and every failure with its output. The whole -v log is kept in
# bin/unit.log (one run at a time: a second run overwrites it).
#
# Then it checks that the PC/SC tests ran where PC/SC is installed. Their
# files carry the `pcsc` build tag, and a build without the tag leaves them
# out silently: `make test` would pass without having read a card through
# pcscd. So, when the tags include pcsc, every test function of a
# `//go:build pcsc` test file must have passed; and when libpcsclite's
# headers are there but scripts/gotags.sh found no libpcsclite (pkg-config
# missing), that is a failure too. With packages given, the tagged tests
# of those packages are checked.
set -uo pipefail
tags=${1:-}
shift || true
pkgs=("$@")
((${#pkgs[@]})) || pkgs=(./...)
mkdir -p bin
log=bin/unit.log

# Package results as they come, each failing test with what it logged (in
# -v its output comes before its --- FAIL line, under === RUN/CONT/NAME),
# and panics up to their package's result.
"${GO:-go}" test -tags "$tags" -race -count=1 -timeout 25m -v "${pkgs[@]}" 2>&1 | tee "$log" |
awk '/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
     /^ *--- (PASS|SKIP): / { delete buf[$3]; next }
     /^ *--- FAIL: / { print; printf "%s", buf[$3]; delete buf[$3]; fflush(); next }
     /^(ok|FAIL|\?)[ \t]/ { print; fflush(); panicking = 0; next }
     /^(panic: |fatal error: |\*\*\* Test killed|SIGQUIT)/ { panicking = 1 }
     panicking { print; fflush(); next }
     cur != "" { buf[cur] = buf[cur] $0 "\n" }'
status=${PIPESTATUS[0]}

if [[ " $tags " == *" pcsc "* ]]; then
  missing=()
  dirs=()
  for p in "${pkgs[@]}"; do
    p=${p%/...}
    dirs+=("${p:-.}")
  done
  for f in $(grep -rl --include='*_test.go' '^//go:build pcsc' "${dirs[@]}"); do
    for name in $(grep -o '^func Test[A-Za-z0-9_]*(t \*testing\.T)' "$f" | sed 's/^func \(Test[A-Za-z0-9_]*\).*/\1/'); do
      grep -q -- "^--- PASS: $name " "$log" || missing+=("$name ($f)")
    done
  done
  if ((${#missing[@]})); then
    echo "PC/SC is installed (scripts/gotags.sh says pcsc) but these tests tagged pcsc did not pass or did not run:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    status=1
  fi
elif [[ -e /usr/include/PCSC/winscard.h ]]; then
  echo "libpcsclite's headers are installed but scripts/gotags.sh finds no libpcsclite (is pkg-config installed?):" >&2
  echo "  the tests tagged pcsc were not built; install pkg-config, or run scripts/install-test-deps.sh" >&2
  status=1
fi
exit $status
