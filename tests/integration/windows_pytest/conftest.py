"""Integration checks against real Windows / Hyper-V hosts, run with pytest-ansible.

    pytest --ansible-inventory inventory.winrm --ansible-host-pattern hyperv_hosts tests/integration/windows_pytest

``inventory.winrm`` is the inventory ``ansible-test windows-integration`` takes (WinRM or PSRP connection variables
per host). Every test runs the collection's modules on the hosts through pytest-ansible's ``ansible_module`` and
``ansible_adhoc`` fixtures. Without ``--ansible-inventory`` (or without ``--ansible-host-pattern``) every test is
skipped with the reason; nothing counts as passed. Tests that create a test VM and back it up are skipped unless
``VAWARE_WINDOWS_DESTRUCTIVE=1`` is set, as ansible-test skips the ``destructive`` targets unless asked.

``make test`` does not collect this folder (``testpaths`` in pyproject.toml); its Windows stage runs it when
``VAWARE_WINDOWS_INVENTORY`` is set.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = ROOT / ".tmp" / "collections"  # made by tests/conftest.py: ansible_collections/vaware/hyperv -> ROOT
SETUP_HINT = (
    "pytest --ansible-inventory <inventory.winrm> --ansible-host-pattern hyperv_hosts tests/integration/windows_pytest"
)


def _collection_on_the_path() -> None:
    """pytest-ansible runs the modules in this process: Ansible's plugin loader must find vaware.hyperv."""
    from ansible import constants

    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    if str(COLLECTIONS) not in constants.COLLECTIONS_PATHS:
        constants.COLLECTIONS_PATHS.insert(0, str(COLLECTIONS))


def _given(config: pytest.Config, *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in config.invocation_params.args for flag in flags)


def why_not_run(config: pytest.Config):
    """Why the Windows checks cannot run here, or None."""
    if config.pluginmanager.getplugin("ansible") is None:
        return "pytest-ansible is not installed (tests/requirements.txt)"
    if not _given(config, "--ansible-inventory", "--inventory"):
        return f"no Windows inventory given; run {SETUP_HINT}"
    if not _given(config, "--ansible-host-pattern", "--host-pattern"):
        return f"no host pattern given; run {SETUP_HINT}"
    return None


@pytest.fixture(scope="session")
def windows_hosts(request):
    """pytest-ansible's ``ansible_adhoc`` host manager for the hosts of ``--ansible-host-pattern``; skips with the
    reason when no inventory was given (the fixture is looked up only then, so pytest-ansible never runs without
    one)."""
    reason = why_not_run(request.config)
    if reason:
        pytest.skip(reason)
    _collection_on_the_path()
    adhoc = request.getfixturevalue("ansible_adhoc")
    hosts = adhoc()
    pattern = request.config.getoption("ansible_host_pattern")
    names = [h.name for h in hosts.options["inventory_manager"].list_hosts(pattern)]
    if not names:
        pytest.fail(f"--ansible-host-pattern {pattern!r} matches no host of the inventory")
    return hosts


@pytest.fixture
def windows(windows_hosts, request):
    """pytest-ansible's ``ansible_module`` dispatcher: ``run(windows, "<fqcn>", **args)`` runs a module on every
    host of the pattern and returns the result per host."""
    return request.getfixturevalue("ansible_module")


@pytest.fixture
def destructive():
    if os.environ.get("VAWARE_WINDOWS_DESTRUCTIVE") != "1":
        pytest.skip("creates and removes a test VM: set VAWARE_WINDOWS_DESTRUCTIVE=1 to run it")


def run(windows, module: str, **args):
    """``windows.<module>`` by its fully qualified name (pytest-ansible resolves it with Ansible's plugin loader)."""
    return getattr(windows, module)(**args)


def every_host(results, check):
    """Call ``check(host, result)`` for each host; a host that failed fails the test with its message."""
    assert len(results) > 0, "no host answered"
    for host, result in results.items():
        assert not result.is_failed, f"{host}: {result.get('msg')}"
        check(host, result)
