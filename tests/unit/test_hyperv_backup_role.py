"""The hyperv_backup role documents every variable it reads, with defaults that match defaults/main.yml."""

from __future__ import annotations

import pathlib
import re

import yaml

ROLE = pathlib.Path(__file__).resolve().parents[2] / "roles" / "hyperv_backup"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
# Facts the role sets itself (results, not inputs).
SET_BY_THE_ROLE = {
    "hyperv_backup_targeted_hosts",
    "hyperv_backup_started",
    "hyperv_backup_host_result",
    "hyperv_backup_run",
    "hyperv_backup_restic",
    "hyperv_backup_restic_deployed",
    "hyperv_backup_restic_version_run",
    "hyperv_backup_report",
    "hyperv_backup_report_path",
    "hyperv_backup_report_name",
    "hyperv_backup_report_mail_error",
    "hyperv_backup_report_proofs_path",
    "hyperv_backup_report_proofs_file",
    "hyperv_backup_report_proofs_read",
    "hyperv_backup_report_previous",
    "hyperv_backup_report_history_read",
}


def documented():
    return {name for spec in SPECS.values() for name in spec["options"]}


def read_by(paths):
    names = set()
    for path in paths:
        names |= set(re.findall(r"\b(hyperv_backup_[a-z_]+)\b", path.read_text(encoding="utf-8")))
    return names


def test_every_variable_read_is_documented():
    used = read_by([*(ROLE / "tasks").glob("*.yml"), *(ROLE / "templates").glob("*.j2")])
    missing = used - SET_BY_THE_ROLE - documented()
    assert not missing, f"variables used but not in meta/argument_specs.yml: {sorted(missing)}"


def test_every_default_is_documented_with_the_same_value():
    for name, value in DEFAULTS.items():
        specs = [spec["options"][name] for spec in SPECS.values() if name in spec["options"]]
        assert specs, f"{name} has a default but no documentation"
        for option in specs:
            assert option.get("default") == value, f"{name}: documented default {option.get('default')!r} != {value!r}"
            assert option.get("description"), name


def test_the_entry_points_exist_and_destination_is_required():
    assert set(SPECS) == {"main", "report", "refused"}
    # Required, but checked by the role's first task (one clear line) rather than by the argument specs, whose
    # failure prints the whole spec: so not required: true, and said in its description.
    option = SPECS["main"]["options"]["hyperv_backup_destination"]
    assert "required" not in option and any(line.startswith("Required.") for line in option["description"])
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text(encoding="utf-8"))
    first_check = next(t for t in tasks if "ansible.builtin.assert" in t)
    assert first_check["name"] == "Check that hyperv_backup_destination is set"
    assert "hyperv_backup_destination is defined" in " ".join(first_check["ansible.builtin.assert"]["that"])
    assert "hyperv_backup_destination" not in DEFAULTS
