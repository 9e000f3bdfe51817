#!/bin/sh
# The package version `make deb` uses: the latest vX.Y.Z tag (plus
# +git<commits>.<hash> past it), or 0.0.0+git<date>.<hash> before any tag.
# Debian versions must start with a digit.
set -e
if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	echo "$d" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g\([0-9a-f]*\)$/+git\1.\2/'
else
	echo "0.0.0+git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
