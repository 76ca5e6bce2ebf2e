#!/usr/bin/env bash
# Prepares this Debian machine for `make test` and `make demo`: the Debian packages listed for
# dpkg in bindep.txt, and a project virtualenv (.venv) with requirements.txt and
# tests/requirements.txt. Safe to re-run: it only installs what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mapfile -t debs < <(awk '!/^[[:space:]]*(#|$)/ && /platform:dpkg/ {print $1}' bindep.txt)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With recommends: samba recommends samba-ad-provision and samba-dsdb-modules, which the test DC needs.
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present (${#debs[@]})"
fi
# The Samba packages start system daemons on install; tests run their own DC, so stop them.
for svc in samba-ad-dc smbd nmbd winbind; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements-installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ tests/requirements.txt -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
  touch "$stamp"
else
  echo "setup: Python packages present"
fi
