#!/usr/bin/env bash
# Runs every Go benchmark of the workspace once (each benchmark sizes its own
# work and reports figures with b.ReportMetric), then prints a report ending
# in one `bench: NAME VALUE UNIT` line per figure, comparable run to run.
# BENCH selects benchmarks (a go test -bench pattern, default all).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern=${BENCH:-.}
out=$(mktemp)
trap 'rm -f "$out" "$out.figures"' EXIT

echo "== machine: $(nproc) cores, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3)"
echo "== settings: ADMSYNC_BENCH_* environment: $(env | grep '^ADMSYNC_BENCH_' | tr '\n' ' ' || true)"
for m in $(go list -f '{{.Dir}}' -m); do
  echo "== go test -bench in ${m#$PWD/}"
  (cd "$m" && go test -run '^$' -bench "$pattern" -benchtime 1x -timeout 30m ./... 2>&1) | tee -a "$out" | grep -vE '^(ok|PASS|\?)' || true
done

echo
echo "== figures"
# A result line: BenchmarkName-2  1  123 ns/op  45.6 rows/s  1.2 x ...
awk '
  /^Benchmark/ {
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    gsub(/\//, "_", name)
    # CamelCase to snake_case
    s = ""; for (i = 1; i <= length(name); i++) { c = substr(name, i, 1); if (c ~ /[A-Z]/ && i > 1 && substr(name, i-1, 1) ~ /[a-z0-9]/) s = s "_"; s = s tolower(c) } name = s
    for (i = 3; i + 1 <= NF; i += 2) {
      v = $i; u = $(i+1)
      if (u == "ns/op" || u == "B/op" || u == "allocs/op") continue
      slug = u; gsub(/[^A-Za-z0-9]+/, "_", slug); sub(/_$/, "", slug)
      # A ratio a benchmark measured itself (interleaved pairs) keeps its name.
      if (u == "x" && name ~ /_vs_bare$/) { printf "bench: %s %s %s\n", name, v, u; continue }
      printf "bench: %s_%s %s %s\n", name, slug, v, u
    }
  }' "$out" | tee "$out.figures"
# Ratios the goals are stated in: import speed against excelize's bare row
# iterator on the same file (read+validate ≥ 0.9, full local write ≥ 0.75).
bare=$(awk '$2 == "bare_rows_rows_s" {print $3}' "$out.figures")
for f in read_validate full_write; do
  # Measured as interleaved pairs by BenchmarkImportFullWriteVsBare when it ran.
  if grep -q "^bench: import_${f}_vs_bare " "$out.figures"; then continue; fi
  v=$(awk -v n="${f}_rows_s" '$2 == n {print $3}' "$out.figures")
  if [[ -n "$bare" && -n "$v" ]]; then
    awk -v a="$v" -v b="$bare" -v n="$f" 'BEGIN {printf "bench: import_%s_vs_bare %.2f x\n", n, a / b}'
  fi
done
rm -f "$out.figures"
if grep -q '^--- FAIL\|^FAIL' "$out"; then echo "some benchmarks failed" >&2; exit 1; fi
