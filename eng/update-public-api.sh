#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to its package's PublicAPI.Unshipped.txt.
# Run it after an intended change to a package's public surface, then review the diff: the baseline is the point.
#   bash eng/update-public-api.sh [src/Reconciliation.Redis ...]   (default: every package under src/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
projects=("$@")
[[ ${#projects[@]} -gt 0 ]] || mapfile -t projects < <(ls -d src/*/)
for dir in "${projects[@]}"; do
  dir=${dir%/}
  [[ -f "$dir/PublicAPI.Shipped.txt" ]] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  [[ -f "$dir/PublicAPI.Unshipped.txt" ]] || printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
  log=$(mktemp)
  dotnet build "$dir" -c Release -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= --no-incremental >"$log" 2>&1 || true
  grep -oP "RS0016: Symbol '\K.*(?=' is not part of the declared public API)" "$log" | sort -u > "$log.symbols" || true
  if [[ -s "$log.symbols" ]]; then
    { cat "$dir/PublicAPI.Unshipped.txt"; cat "$log.symbols"; } | awk 'NR==1 || !seen[$0]++' > "$log.merged"
    { head -n1 "$log.merged"; tail -n +2 "$log.merged" | LC_ALL=C sort -u; } > "$dir/PublicAPI.Unshipped.txt"
    echo "$dir: $(wc -l < "$log.symbols") symbol(s) added"
  fi
  rm -f "$log" "$log.symbols" "$log.merged"
done
