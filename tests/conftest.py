"""Make the repository importable as ``ansible_collections.vaware.hyperv`` for pytest.

The repository root is the collection root. pytest runs from a checkout whose folder name is
arbitrary, so a link ``.tmp/collections/ansible_collections/vaware/hyperv`` pointing at the
checkout is created and Ansible's own collection finder is installed over it (the same
bootstrap ansible-test's pytest plugin performs). Collections bundled with the ``ansible``
package (ansible.windows, ...) stay importable through the finder's sys.path scan.
"""

from __future__ import annotations

import contextlib
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".tmp" / "collections"


def _link_collection() -> None:
    link = COLLECTIONS / "ansible_collections" / "vaware" / "hyperv"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        with contextlib.suppress(FileExistsError):  # another xdist worker won the race
            os.symlink(ROOT, link, target_is_directory=True)


def _install_finder() -> None:
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    finder = _AnsibleCollectionFinder(paths=[str(COLLECTIONS)], scan_sys_paths=True)
    finder._install()  # pylint: disable=protected-access


_link_collection()
_install_finder()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """pytest-ansible (the Windows checks in tests/integration/windows_pytest) would, when pytest starts in a
    collection root, link the checkout's top-level entries into ./collections and point ANSIBLE_COLLECTIONS_PATH (which
    every ansible-playbook the tests start inherits) there. Its "inject only" mode changes neither; the finder it then
    installs is replaced by ours again when the session starts."""
    if hasattr(config.option, "ansible_unit_inject_only"):
        config.option.ansible_unit_inject_only = True


def pytest_sessionstart(session):
    _install_finder()
