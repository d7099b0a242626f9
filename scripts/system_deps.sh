#!/usr/bin/env bash
# Debian packages that the browser and database tests use: Chromium with its
# driver, and a PostgreSQL server. Installs only what is missing; needs root.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] apt-get install ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "[setup] not root: browser/PostgreSQL tests will be skipped (missing: ${need[*]})" >&2
  fi
fi
