"""Tests for the restic ``repository`` option: validation, tags and the environment restic gets."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    DEFAULT_RESTIC_PATH,
    TAG,
    ResticOptionError,
    restic_environment,
    validate_repository,
    vm_filter_tag,
    vm_name_from_tags,
    vm_tags,
)

SECRET = "s3cr3t-Pa55"
VM_ID = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"


def repo(**extra):
    return {"type": "restic", "location": "D:\\restic", "password": SECRET, **extra}


def test_defaults_filled_in():
    result = validate_repository(repo())
    assert result == {
        "type": "restic",
        "location": "D:\\restic",
        "password": SECRET,
        "environment": {},
        "options": {},
        "compression": "auto",
        "tags": [],
        "restic_path": DEFAULT_RESTIC_PATH,
        "init": False,
        "check_read_data_subset": None,
        "prune_weekdays": ["sunday"],
    }


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("D:\\restic\\", "D:\\restic"),
        ("D:\\", "D:\\"),
        ("\\\\nas01\\backup\\restic", "\\\\nas01\\backup\\restic"),
        ("sftp:backup@nas01:/srv/restic", "sftp:backup@nas01:/srv/restic"),
        ("s3:https://s3.example.test/bucket/hv", "s3:https://s3.example.test/bucket/hv"),
        ("rest:https://user@restic.example.test:8000/", "rest:https://user@restic.example.test:8000/"),
    ],
)
def test_locations_accepted(location, expected):
    assert validate_repository(repo(location=location))["location"] == expected


@pytest.mark.parametrize(
    ("location", "needle"),
    [
        ("restic", "'restic' is not a restic repository location"),
        ("/srv/restic", "'/srv/restic' is not a restic repository location"),
        ("D:/restic", "use backslashes"),
        ("sftp:", "names the sftp backend but no place"),
        (" D:\\restic", "must not start or end with spaces"),
        ("D:\\re\nstic", "control characters"),
        ("\\\\?\\Volume{x}\\restic", "is not a restic repository location"),
        (None, "repository.location must be a non-empty string; got None"),
    ],
)
def test_bad_location_named(location, needle):
    with pytest.raises(ResticOptionError) as caught:
        validate_repository(repo(location=location))
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"type": "files"}, "repository.type must be restic here; got 'files'"),
        ({"password": ""}, "repository.password is required"),
        ({"password": "a\nb"}, "single line"),
        ({"compression": "fast"}, "repository.compression must be one of auto, off, max; got 'fast'"),
        ({"tags": "nightly"}, "repository.tags must be a list"),
        ({"tags": ["a,b"]}, "repository.tags[0] 'a,b' must not contain commas"),
        ({"restic_path": "restic.exe"}, "absolute path of restic's .exe; got 'restic.exe'"),
        ({"restic_path": "C:\\tools\\restic"}, "got 'C:\\\\tools\\\\restic'"),
        ({"init": "yes"}, "repository.init must be true or false; got 'yes'"),
        ({"check_read_data_subset": "0/3"}, "got '0/3'"),
        ({"check_read_data_subset": "4/3"}, "got '4/3'"),
        ({"check_read_data_subset": "150%"}, "got '150%'"),
        ({"check_read_data_subset": "lots"}, "got 'lots'"),
        ({"prune_weekdays": "sunday"}, "must be a list of weekday names"),
        ({"prune_weekdays": ["sonntag"]}, "'sonntag' is not one of monday"),
        ({"environment": {"RESTIC_PASSWORD": "x"}}, "RESTIC_PASSWORD is set by the collection itself"),
        ({"environment": {"PATH": "x"}}, "PATH is not a restic backend variable"),
        ({"environment": {"aws_key": "x"}}, "'aws_key' is not an environment variable name"),
        ({"environment": ["AWS_ACCESS_KEY_ID"]}, "repository.environment must be a mapping"),
        ({"options": {"command": "ssh"}}, "'command' is not a restic option name"),
        ({"options": {"sftp.command": True}}, "repository.options.sftp.command must be a string or a number"),
        ({"colour": "blue"}, "unknown key(s) colour"),
    ],
)
def test_bad_values_named(extra, needle):
    with pytest.raises(ResticOptionError) as caught:
        validate_repository(repo(**extra))
    assert needle in str(caught.value)
    assert SECRET not in str(caught.value)


def test_not_a_mapping():
    with pytest.raises(ResticOptionError, match=r"repository must be a mapping.*got str"):
        validate_repository("D:\\restic")


@pytest.mark.parametrize("subset", ["1/7", "5%", "2.5%", "500M", 1])
def test_read_data_subset_accepted(subset):
    if subset == 1:
        with pytest.raises(ResticOptionError):
            validate_repository(repo(check_read_data_subset=subset))
        return
    assert validate_repository(repo(check_read_data_subset=subset))["check_read_data_subset"] == subset


def test_weekdays_normalised_and_deduplicated():
    assert validate_repository(repo(prune_weekdays=["Sunday", "wednesday", "sunday"]))["prune_weekdays"] == [
        "sunday",
        "wednesday",
    ]
    assert validate_repository(repo(prune_weekdays=[]))["prune_weekdays"] == []


def test_environment_holds_password_file_not_password():
    validated = validate_repository(repo(environment={"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "k"}))
    env = restic_environment(validated, "C:\\job\\restic.pw", "C:\\job\\cache")
    assert env == {
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "k",
        "RESTIC_REPOSITORY": "D:\\restic",
        "RESTIC_PASSWORD_FILE": "C:\\job\\restic.pw",
        "RESTIC_CACHE_DIR": "C:\\job\\cache",
    }
    assert SECRET not in env.values()


def test_vm_tags_round_trip_odd_names():
    name = "SQL, prod 100% (old)"
    tags = vm_tags(name, "{" + VM_ID + "}", ["nightly", TAG])
    assert tags[0] == TAG
    assert tags[1] == "vm-id:" + VM_ID.lower()
    assert all("," not in tag for tag in tags)
    assert tags[-1] == "nightly"
    assert tags.count(TAG) == 1
    assert vm_name_from_tags(tags) == name


@pytest.mark.parametrize("bad", ["VM01", "", None, "3F2504E0-4F89-11D3-9A0C-0305E82C330"])
def test_vm_filter_tag_needs_guid(bad):
    with pytest.raises(ResticOptionError, match="VM id must be a GUID"):
        vm_filter_tag(bad)
