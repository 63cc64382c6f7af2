#!/usr/bin/env bash
# The demo, from a fresh clone: installs PostgreSQL/Redis when missing, then runs the sample whose environment is
# broken on purpose and healed live. It starts its own throwaway servers and removes them when it ends (or on Ctrl-C).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
bash eng/install-servers.sh
exec dotnet run -c Release --project samples/Reconciliation.Demo -- "$@"
