"""Tests for the room-making decision of a full backup destination (expire_before_copy_when_short)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.generations import (
    expiry_for_room,
    generation_bytes,
    listed_generations,
    shortage_message,
)
from ansible_collections.vaware.hyperv.tests.support.vss_backup_host import GIB, manifest_of

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
NEW = "20261125T020000Z"


def listed(*names, status="complete"):
    return [{"name": n, "manifest": manifest_of(n, status=status) if status else None} for n in names]


def room(entries, policy, free, required=60 * GIB):
    return expiry_for_room(entries, policy, new_generation=NEW, now=NOW, free_bytes=free, required_bytes=required)


def test_listed_generations_leave_out_foreign_folders_and_this_jobs_generation():
    got = listed_generations([*listed("20261123T020000Z"), {"name": "old stuff"}, {"name": NEW}], NEW)
    assert [e["id"] for e in got] == ["20261123T020000Z"]
    assert got[0]["complete"] is True and got[0]["manifest"]["generation"] == "20261123T020000Z"


def test_a_generation_frees_what_its_manifest_records_and_an_incomplete_one_is_unknown():
    assert generation_bytes(manifest_of("20261123T020000Z")) == 40 * GIB
    assert generation_bytes(manifest_of("20261123T020000Z", status="failed")) is None
    assert generation_bytes(None) is None


def test_room_expires_what_the_policy_expires_counting_the_new_generation_but_never_the_newest_complete():
    entries = listed_generations(listed("20261121T020000Z", "20261122T020000Z", "20261123T020000Z"), NEW)
    got = room(entries, {"keep_last": 1}, free=0)
    assert got["protected"] == "20261123T020000Z"
    assert got["expire"] == ["20261121T020000Z", "20261122T020000Z"]
    assert got["frees"] == 80 * GIB and got["short_by"] == 60 * GIB and got["enough"] is True


def test_room_is_not_made_when_the_expired_generations_free_too_little():
    entries = listed_generations(listed("20261123T020000Z", "20261124T020000Z"), NEW)
    got = room(entries, {"keep_last": 1}, free=10 * GIB)
    assert got["expire"] == ["20261123T020000Z"] and got["frees"] == 40 * GIB
    assert got["enough"] is False


def test_no_policy_expires_nothing_and_enough_space_needs_nothing():
    entries = listed_generations(listed("20261123T020000Z", "20261124T020000Z"), NEW)
    assert room(entries, {}, free=0)["expire"] == []
    assert room(entries, {"keep_last": 0}, free=0)["enough"] is False
    plenty = room(entries, {"keep_last": 1}, free=100 * GIB)
    assert plenty["short_by"] == 0 and plenty["expire"] == [] and plenty["enough"] is False


def test_incomplete_generations_expire_but_free_nothing_by_their_manifest():
    entries = listed_generations(listed("20261122T020000Z", status=None) + listed("20261123T020000Z"), NEW)
    got = room(entries, {"keep_last": 1}, free=0)
    assert got["expire"] == ["20261122T020000Z"] and got["unknown_size"] == ["20261122T020000Z"]
    assert got["frees"] == 0 and got["enough"] is False


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.integers(min_value=1, max_value=24), min_size=0, max_size=10, unique=True),
    complete=st.lists(st.booleans(), min_size=10, max_size=10),
    keep_last=st.integers(min_value=0, max_value=4),
    keep_daily=st.integers(min_value=0, max_value=4),
    free=st.integers(min_value=0, max_value=100 * GIB),
)
def test_room_never_expires_the_newest_complete_generation(days, complete, keep_last, keep_daily, free):
    names = [f"202611{d:02d}T020000Z" for d in sorted(days)]
    raw = [
        {"name": n, "manifest": manifest_of(n, status="complete" if complete[i] else "failed")}
        for i, n in enumerate(names)
    ]
    entries = listed_generations(raw, NEW)
    got = room(entries, {"keep_last": keep_last, "keep_daily": keep_daily}, free=free)
    newest = [n for i, n in enumerate(names) if complete[i]][-1:]
    assert not set(newest) & set(got["expire"])
    assert NEW not in got["expire"]
    assert got["enough"] == (bool(got["expire"]) and got["frees"] >= got["short_by"])


def test_the_shortage_message_shows_the_arithmetic_and_the_way_out():
    entries = listed_generations(listed("20261123T020000Z", "20261124T020000Z"), NEW)
    got = room(entries, {"keep_last": 1}, free=30 * GIB)
    text = shortage_message(
        "\\\\nas01\\hyperv-backup",
        free_bytes=30 * GIB,
        total_bytes=4000 * GIB,
        required_bytes=60 * GIB,
        room=got,
        option_on=False,
    )
    assert text.startswith(
        "destination too small: \\\\nas01\\hyperv-backup has 30.0 GiB free of 3.9 TiB; this backup needs 60.0 GiB"
        f" ({60 * GIB} bytes), 30.0 GiB ({30 * GIB} bytes) more."
    )
    assert "retention (keep_last: 1) expires 20261123T020000Z, which frees 40.0 GiB" in text
    assert "expire_before_copy_when_short: true would delete those before the copy" in text
