#!/usr/bin/env bash
# The chaos soak (opt-in; the short storm runs in the normal suite): the orders service under the seeded storm at a low
# rate for --minutes, sampled every 5 s. Writes soak.csv, soak.png, soak-report.md and soak.log to --out.
#   bash eng/chaos.sh --minutes 30 --seed 1818 [--out artifacts/chaos]
# CHAOS_FAULTS=a,b draws only those faults; the host runs with MALLOC_ARENA_MAX=2 (docs/reliability.md) unless
# CHAOS_HOST_MALLOC_ARENA_MAX says otherwise ("default" = glibc's own).
# A short storm with another seed: CHAOS_SEED=N dotnet test tests/Reconciliation.Chaos.Tests -c Release --filter Every_fault
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

minutes=30
seed=1818
out=artifacts/chaos
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: bash eng/chaos.sh [--minutes N] [--seed N] [--out DIR]" >&2; exit 2 ;;
  esac
done

bash eng/install-servers.sh
dotnet build tests/Reconciliation.Chaos.Tests -c Release -warnaserror
mkdir -p "$out"
out=$(cd "$out" && pwd)
echo "soak: $minutes min, seed $seed, output $out (progress: tail -f $out/soak.log)"
RECONCILIATION_CHAOS_SOAK_MINUTES=$minutes CHAOS_SEED=$seed CHAOS_OUTPUT=$out CI=true \
  dotnet test tests/Reconciliation.Chaos.Tests -c Release --no-build --filter "FullyQualifiedName~Soak" \
  --logger "console;verbosity=detailed"
