#!/usr/bin/env bash
# Sums the counters of every TRX file under $1 into one line "N passed, N failed, N skipped".
# Exits non-zero when anything failed, when the runner itself failed ($2), or when a test project left no results.
set -uo pipefail
results="$1"
runner_status="${2:-0}"

passed=0; failed=0; skipped=0; files=0
shopt -s nullglob globstar
for trx in "$results"/**/*.trx; do
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*' "$trx" | head -1)
  get() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # A skipped xunit v3 test is a result with outcome NotExecuted that the counters leave out of "executed" but do not
  # count in notExecuted either: a skip is whatever of the total did not execute.
  not_run=$(( $(get total) - $(get executed) ))
  skipped=$((skipped + (not_run > $(get notExecuted) ? not_run : $(get notExecuted))))
done

projects=$(find tests -name '*.Tests.csproj' | wc -l)
if [[ $files -lt $projects ]]; then
  echo "error: $projects test projects but only $files result files: a test host crashed or did not start" >&2
  failed=$((failed + projects - files))
fi

echo "$passed passed, $failed failed, $skipped skipped"
if [[ $failed -gt 0 || $runner_status -ne 0 ]]; then
  exit 1
fi
