"""Tests for the restic argument lists: no secret and no repository location on a command line."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    ResticOptionError,
    validate_repository,
    vm_tags,
)

SECRET = "s3cr3t-Pa55"
VM_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.fixture(name="repo")
def fixture_repo():
    return validate_repository(
        {
            "type": "restic",
            "location": "sftp:backup@nas01:/srv/restic",
            "password": SECRET,
            "environment": {"AWS_SECRET_ACCESS_KEY": "hidden-key"},
            "options": {"sftp.command": "ssh -i C:\\keys\\id backup@nas01 -s sftp"},
            "compression": "max",
        }
    )


def every_args(repo):
    return [
        command.init_args(repo),
        command.backup_args(repo, ["Hyper-V\\VM01"], vm_tags("VM01", VM_ID), "HV01"),
        command.forget_args(repo, {"keep_last": 3}, "HV01", VM_ID),
        command.prune_args(repo),
        command.check_args(repo, "5%"),
        command.snapshots_args(repo, "HV01", ["vaware.hyperv"]),
        command.ls_args(repo, "latest"),
        command.restore_args(repo, "e75453df", "D:\\restore"),
        command.stats_args(repo),
    ]


def test_no_secret_or_location_in_any_argv(repo):
    for args in every_args(repo):
        text = "\0".join(args)
        assert SECRET not in text
        assert "hidden-key" not in text
        assert "sftp:backup@nas01" not in text
        assert not any(arg.startswith("--password") or arg in ("-r", "--repo", "-p") for arg in args)


def test_backend_options_first_as_separate_items(repo):
    args = command.prune_args(repo)
    assert args == ["-o", "sftp.command=ssh -i C:\\keys\\id backup@nas01 -s sftp", "prune"]


def test_backup_args(repo):
    args = command.backup_args(repo, ["Hyper-V\\VM01", "-odd"], vm_tags("VM01", VM_ID), "HV01", parent="e75453df")
    assert args[2:] == [
        "backup", "--json", "--host", "HV01", "--compression", "max",
        "--tag", "vaware.hyperv", "--tag", "vm-id:" + VM_ID, "--tag", "vm:VM01",
        "--parent", "e75453df", "--", "Hyper-V\\VM01", "-odd",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda r: command.backup_args(r, [], ["t"], "HV01"), "at least one path"),
        (lambda r: command.backup_args(r, ["x"], [], "HV01"), "needs the VM's tags"),
        (lambda r: command.backup_args(r, ["x"], ["t"], "-HV01"), "got '-HV01'"),
        (lambda r: command.backup_args(r, ["x\ny"], ["t"], "HV01"), "backup path must be"),
        (lambda r: command.backup_args(r, ["x"], ["t"], "HV01", parent="HEAD"), "got 'HEAD'"),
        (lambda r: command.restore_args(r, "latest; rm", "D:\\r"), "got 'latest; rm'"),
        (lambda r: command.stats_args(r, "everything"), "got 'everything'"),
        (lambda r: command.forget_args(r, {"keep_last": -1}, "HV01", VM_ID), "keep_last must be a whole number"),
        (lambda r: command.forget_args(r, {"keep_last": 1}, "HV01", "VM01"), "VM id must be a GUID; got 'VM01'"),
    ],
)
def test_bad_arguments_named(repo, call, needle):
    with pytest.raises((ResticOptionError, ValueError)) as caught:
        call(repo)
    assert needle in str(caught.value)


def test_forget_maps_policy_one_to_one(repo):
    args = command.forget_args(
        repo, {"keep_last": 2, "keep_daily": 7, "keep_weekly": 0, "keep_monthly": 6}, "HV01", VM_ID
    )
    assert args[2:] == [
        "forget", "--json", "--host", "HV01", "--tag", "vm-id:" + VM_ID, "--group-by", "host",
        "--keep-last", "2", "--keep-daily", "7", "--keep-monthly", "6",
    ]  # fmt: skip
    assert "--prune" not in args


def test_forget_nothing_for_empty_policy(repo):
    assert command.forget_args(repo, {"keep_last": 0}, "HV01", VM_ID) is None
    assert command.forget_args(repo, None, "HV01", VM_ID) is None


def test_check_subset(repo):
    assert command.check_args(repo)[-1] == "check"
    assert command.check_args(repo, "1/7")[-3:] == ["check", "--read-data-subset", "1/7"]


def test_snapshots_tags_joined(repo):
    assert command.snapshots_args(repo, None, ["a", "b"])[-3:] == ["--json", "--tag", "a,b"]
