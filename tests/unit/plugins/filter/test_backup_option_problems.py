"""The backup_option_problems filter: win_vss_backup's limits, checked by the role before a host is contacted."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.filter.backup_option_problems import backup_option_problems
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import OPTION_LIMITS, RETENTION_MAX


def test_good_values_and_digit_strings_pass():
    assert backup_option_problems({"retention": {"keep_daily": "14", "keep_last": 0}, "copy_threads": "8"}) == []
    assert backup_option_problems({"copy_threads": None, "retention": None, "timeout": 86400}) == []


def test_each_bad_value_is_named_with_the_prefix_and_the_modules_range():
    top = RETENTION_MAX + 1
    given = {"retention": {"keep_daily": -1, "keep_weekly": "x", "keep_last": top}}
    problems = backup_option_problems({**given, "copy_threads": 500, "poll_interval": True}, "hyperv_backup_")
    low, high = OPTION_LIMITS["copy_threads"]
    assert problems == [
        f"hyperv_backup_retention.keep_daily: expected a whole number from 0 to {RETENTION_MAX}, got -1",
        f"hyperv_backup_retention.keep_weekly: expected a whole number from 0 to {RETENTION_MAX}, got x",
        f"hyperv_backup_retention.keep_last: expected a whole number from 0 to {RETENTION_MAX}, got {top}",
        f"hyperv_backup_copy_threads: expected a whole number from {low} to {high}, got 500",
        "hyperv_backup_poll_interval: expected a whole number from 1 to 3600, got True",
    ]


def test_not_a_mapping_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        backup_option_problems(["copy_threads", 8])
