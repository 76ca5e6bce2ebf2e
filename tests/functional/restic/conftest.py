"""The real restic (Debian package ``restic``) against throwaway repositories in tmp_path.

If restic is not installed the tests fail: a missing binary is a broken test setup, not a skip.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

SUPPORT = pathlib.Path(__file__).resolve().parents[2] / "support"
sys.path.insert(0, str(SUPPORT))

import restic_tools  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import validate_repository  # noqa: E402

PASSWORD = restic_tools.TEST_PASSWORD


@pytest.fixture(name="make_repo")
def fixture_make_repo(tmp_path):
    """make_repo(location=None, **options) -> an initialised restic.Restic for that repository."""
    assert restic_tools.RESTIC, "restic is not installed: scripts/setup.sh installs it (bindep.txt)"
    counter = {"n": 0}

    def make(location=None, init=True, **extra):
        counter["n"] += 1
        where = location or str(tmp_path / f"repo{counter['n']}")
        # validate_repository expects a Windows location; tests run on Linux, so validate a stand-in
        # and then point the validated options at the local folder (or the given sftp: location).
        repository = validate_repository({"type": "restic", "location": "D:\\restic", "password": PASSWORD, **extra})
        repository["location"] = where
        restic = restic_tools.Restic(repository, tmp_path / f"pw{counter['n']}", tmp_path / "cache")
        if init:
            done = restic.run(command.init_args(repository))
            assert done.returncode == 0, done.stderr
        return restic

    return make
