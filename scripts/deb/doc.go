// Package deb holds the kioskd Debian package's definition (nfpm.yaml,
// maintainer scripts, changelog; `make deb` builds it) and its test, which
// builds the package, checks it with dpkg-deb, lintian and
// systemd-analyze, and installs, upgrades, removes and purges it for real.
package deb
