#!/usr/bin/env bash
# Runs `ansible-test sanity --venv` on the collection without internet access.
#
# ansible-test bootstraps pip in each sanity virtualenv with a get-pip script it downloads from
# a host these machines cannot reach. It first looks for ~/.ansible/test/cache/get_pip_<ver>.py
# and runs it as `python that-file <pip install arguments>`, so a small stand-in that uses the
# interpreter's own ensurepip and then installs the requested packages from the package index
# makes the whole run work from the registries. ansible-test wants the collection at
# .../ansible_collections/vaware/hyperv/: the git-tracked files (plus new, not ignored ones)
# are copied there, so nothing git ignores (virtualenvs, test output) is scanned.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON_VERSION:-3.11}

pip_version=$("$venv/bin/python" - <<'PY'
import ansible_test._internal.python_requirements as r
from types import SimpleNamespace
print(r.get_venv_packages(SimpleNamespace(version="3.11"))["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat >"$cache" <<'PY'
"""Offline stand-in for pip's get-pip.py: ensurepip, then pip install the given arguments."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])
PY

work="$root/.tmp/sanity"
dest="$work/ansible_collections/vaware/hyperv"
rm -rf "$work"
mkdir -p "$dest"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -P {} "$dest"/ 2>/dev/null || true)
# ansible-test decides what to test from git when it finds a repository.
(cd "$dest" && git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity)
cd "$dest"
exec "$venv/bin/ansible-test" sanity --venv --python "$python" --color no "$@"
