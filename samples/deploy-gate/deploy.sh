#!/usr/bin/env bash
# A deploy step with a gate instead of a fixed sleep: roll the new version out, let `reconcile gate` decide whether the
# environment it left behind is healthy, and roll back when it is not (exit 1). Exit 2 (the gate's own configuration is
# wrong) stops the pipeline without rolling back: the gate could not judge, so nobody should act on its verdict.
#
#   POSTGRES="Host=db;Username=deploy;Password=..." REDIS="cache:6379,password=..." \
#     DEPLOY="kubectl rollout restart deployment/orders && kubectl rollout status deployment/orders" \
#     ROLLBACK="kubectl rollout undo deployment/orders" \
#     bash samples/deploy-gate/deploy.sh
#
# The connection strings come from the environment (the CI system's secrets), never from the command line.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPLOY:?set DEPLOY to the command that rolls the new version out}"
: "${ROLLBACK:?set ROLLBACK to the command that rolls it back}"
format=text
[[ "${GITHUB_ACTIONS:-}" == "true" ]] && format=github   # errors become annotations on the run

# Before: is it safe to roll out (and migrate) now?
reconcile gate --config "$here/reconcile.json" --wait "${GATE_WAIT_BEFORE:-30s}" --format "$format" || exit $?

bash -c "$DEPLOY" || exit 1

# After: did the new version leave the environment healthy? Waits up to GATE_WAIT for every rule to clear.
reconcile gate --config "$here/reconcile.json" --wait "${GATE_WAIT:-120s}" --json gate-report.json --format "$format"
status=$?
case $status in
  0) echo "deploy: the environment is healthy" ;;
  1) echo "deploy: the gate found open violations (gate-report.json); rolling back"
     bash -c "$ROLLBACK"
     exit 1 ;;
  *) echo "deploy: the gate could not judge (exit $status); not rolling back, fix its configuration"
     exit "$status" ;;
esac
