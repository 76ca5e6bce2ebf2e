#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every gate in turn and stops at the first
# failure. Each stage prints its duration; the last stage is pytest, whose summary closes the run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0
V=.venv/bin

started=$(date +%s)
stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo
  echo "=== stage: $name"
  "$@"
  local rc=$?
  echo "=== stage: $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - t0)) s"
  if [ $rc -ne 0 ]; then
    echo "make test: stopped at stage '$name' after $(( $(date +%s) - started )) s"
    exit $rc
  fi
}

lint_ansible() {
  # The whole tree, as a Galaxy / Automation Hub import lints it; .ansible-lint sets the production profile and
  # leaves out the changelog fragments (antsibull-changelog's own files) and local outputs.
  # ansible-lint resolves vaware.hyperv.* through the collection link made for pytest.
  ANSIBLE_COLLECTIONS_PATH="$root/.tmp/collections" "$V/ansible-lint"
}

windows_integration() {
  local targets
  targets=$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
  if [ -z "$targets" ]; then echo "no integration targets"; return 0; fi
  if [ -n "${VAWARE_WINDOWS_INVENTORY:-}" ]; then
    cp "$VAWARE_WINDOWS_INVENTORY" tests/integration/inventory.winrm
    (cd .tmp/sanity/ansible_collections/vaware/hyperv && cp "$root/tests/integration/inventory.winrm" tests/integration/ &&
      "$root/$V/ansible-test" windows-integration --color no) || return $?
    # the same hosts through pytest-ansible (tests/integration/windows_pytest)
    "$V/python" -m pytest -p no:cacheprovider -rs --ansible-inventory "$VAWARE_WINDOWS_INVENTORY" \
      --ansible-host-pattern "${VAWARE_WINDOWS_HOST_PATTERN:-windows}" tests/integration/windows_pytest
    return $?
  fi
  # Without a Windows host the targets cannot run; check that each is well formed so it can.
  local t bad=0
  for t in $targets; do
    if [ ! -f "tests/integration/targets/$t/aliases" ] || [ ! -f "tests/integration/targets/$t/tasks/main.yml" ]; then
      echo "tests/integration/targets/$t: needs aliases and tasks/main.yml"; bad=1
    fi
  done
  echo "Windows integration targets (run with VAWARE_WINDOWS_INVENTORY=<inventory.winrm>): $(echo $targets)"
  echo "not run here: no Windows host in this environment"
  # the pytest-ansible checks must collect; without an inventory each is skipped with the reason, none passes
  "$V/python" -m pytest -p no:cacheprovider -q -rs tests/integration/windows_pytest || bad=1
  return $bad
}

stage setup bash scripts/setup.sh
# pytest's conftest makes the .tmp/collections link; ansible-lint and the docs gate use it too.
mkdir -p .tmp/collections/ansible_collections/vaware
[ -L .tmp/collections/ansible_collections/vaware/hyperv ] || ln -s "$root" .tmp/collections/ansible_collections/vaware/hyperv
stage "ruff lint" "$V/ruff" check --no-cache .
stage "ruff format" "$V/ruff" format --check --no-cache .
stage "powershell syntax" "$V/python" scripts/check_ps1_syntax.py plugins
stage "changelog fragments" "$V/antsibull-changelog" lint
stage "ansible-lint (whole tree, production)" lint_ansible
stage "build, install, ansible-doc" "$V/python" scripts/check_docs.py
stage "ansible-test sanity" bash scripts/sanity.sh
stage "windows integration targets" windows_integration
echo
echo "=== stage: pytest (unit, functional against a Samba AD DC, playbook tests); $(( $(date +%s) - started )) s so far"
exec "$V/python" -m pytest -p no:cacheprovider "$@"
