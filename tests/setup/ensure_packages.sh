#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (Redis, PostgreSQL, Chromium, Mosquitto) when
# they are missing. Needs root, as on the project's machines and in CI. Under CI=true a
# package that cannot be installed is an error; elsewhere it is a warning, and the tests
# that need it are skipped.
set -u
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing test packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: cannot install ${missing[*]}" >&2
  [ "${CI:-}" = "true" ] && exit 1 || exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "apt-get could not install: ${missing[*]}" >&2
  [ "${CI:-}" = "true" ] && exit 1
fi
# Debian starts services on install; the tests run their own on private ports.
service redis-server stop >/dev/null 2>&1 || true
service postgresql stop >/dev/null 2>&1 || true
service mosquitto stop >/dev/null 2>&1 || true
exit 0
