#!/usr/bin/env bash
# Reads `go test -bench` output on stdin and prints one line per figure a
# benchmark reported with b.ReportMetric(value, "name:unit"):
#   BENCH <name> <value> <unit>
# Fails when a benchmark failed, so `make bench` never hides a broken one.
awk '
/^(FAIL|--- FAIL|panic:)/ { failed = 1; print > "/dev/stderr" }
/^Benchmark/ {
  for (i = 3; i < NF; i++) {
    unit = $(i + 1)
    if (index(unit, ":") > 0) {
      split(unit, p, ":")
      printf "BENCH %s %s %s\n", p[1], $i, p[2]
    }
  }
}
END { exit failed }
'
