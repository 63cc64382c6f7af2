#!/usr/bin/env bash
# Installs PostgreSQL, PgBouncer, Redis and Prometheus from Debian's packages when their binaries are missing.
# Does nothing when they are present. Never Docker, never a download outside apt.
#
# The servers are NOT started here: tests and the demo start throwaway instances of their own
# (temporary data directory, free port on 127.0.0.1) through tests/Reconciliation.TestServers.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}

have_redis() {
  command -v redis-server >/dev/null 2>&1
}

have_pgbouncer() {
  command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]]
}

# Prometheus and promtool: the alert rules are checked and unit-tested with promtool, and a real Prometheus
# scrapes the orders sample's /metrics (tests/Reconciliation.Observability.Tests). Its service is never started.
have_prometheus() {
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1
}

packages=()
have_postgres || packages+=(postgresql)
have_redis || packages+=(redis-server)
have_pgbouncer || packages+=(pgbouncer)
have_prometheus || packages+=(prometheus)

# Headless Chromium for the status-page browser test (see samples/); optional elsewhere.
if [[ "${RECONCILIATION_WITH_BROWSER:-0}" == "1" ]] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi

if [[ ${#packages[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-servers: missing ${packages[*]} and not root; install them with: sudo apt-get install ${packages[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-servers: installing ${packages[*]} from Debian's packages"
# Keep Debian from creating and starting its own 'main' cluster: the tests start their own.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/reconciliation.conf >/dev/null
# No service starts during installation (containers have no init system anyway); Debian's pgbouncer
# service is never started either: the tests start throwaway poolers with their own configuration.
policy_rc_created=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_rc_created=1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

if [[ $policy_rc_created -eq 1 ]]; then
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
echo "install-servers: done"
