"""Without python-ldap the module fails with Ansible's missing_required_lib message (no DC needed)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

RUNNER = pathlib.Path(__file__).resolve().parents[3] / "support" / "run_module.py"

# Makes `import ldap` fail in the module process only, as on a controller without python-ldap.
BLOCK = """
import sys, runpy
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "ldap" or name.startswith("ldap."):
            raise ImportError("No module named 'ldap'")
sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[1], "ad_constrained_delegation"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_missing_python_ldap_is_reported():
    args = {"ANSIBLE_MODULE_ARGS": {"computer": "HV01", "services": ["cifs/fs01"], "server": "127.0.0.1", "port": 9}}
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK, str(RUNNER)], input=json.dumps(args), capture_output=True, text=True, check=False
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failed"] is True
    assert "Failed to import the required Python library (python-ldap)" in result["msg"], result["msg"]
