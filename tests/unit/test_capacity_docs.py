"""The capacity table of docs/fleet-backup.md holds for the collection's own retention code."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re

import pytest
import yaml

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import select_expired

ROOT = pathlib.Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\| `(\{[^`]*\})` \| (\d+) \| (\d+) \|$", re.MULTILINE)


def most_kept(policy, nights=400):
    """The most generations left after any of ``nights`` nightly runs, each followed by retention."""
    start = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.timezone.utc)
    generations, most = [], 0
    for night in range(nights):
        finished = start + dt.timedelta(days=night)
        generations.append({"id": finished.strftime("%Y%m%dT%H%M%SZ"), "finished_at": finished, "complete": True})
        expired = set(select_expired(generations, policy, finished))
        generations = [g for g in generations if g["id"] not in expired]
        most = max(most, len(generations))
    return most


def documented_rows():
    text = (ROOT / "docs" / "fleet-backup.md").read_text(encoding="utf-8")
    return [(yaml.safe_load(policy), int(kept), int(copies)) for policy, kept, copies in _ROW.findall(text)]


def test_the_docs_have_the_table():
    assert len(documented_rows()) >= 4


@pytest.mark.parametrize(("policy", "kept", "copies"), documented_rows(), ids=json.dumps)
def test_each_row_is_what_retention_keeps(policy, kept, copies):
    assert most_kept(policy) == kept
    assert copies == kept + 1  # the new generation is written before the old ones expire


def test_a_wrong_row_would_be_caught():
    assert most_kept({"keep_daily": 7, "keep_weekly": 4}) != 11
