"""Tests for generation retention (restic ``forget`` semantics)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import (
    POLICY_KEYS,
    select_expired,
    validate_policy,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 31, 12, 0, tzinfo=UTC)


def gen(gen_id, when, complete=True):
    return {"id": gen_id, "finished_at": when, "complete": complete}


def at(day, hour=2, month=3, year=2024, tz=UTC):
    return dt.datetime(year, month, day, hour, 0, tzinfo=tz)


# ---------------------------------------------------------------- policy validation


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ({"keep_hourly": 3}, ["'keep_hourly'", "keep_last"]),
        ({"keep_daily": -1}, ["keep_daily", "-1"]),
        ({"keep_weekly": "4"}, ["keep_weekly", "'4'"]),
        ({"keep_monthly": 1.5}, ["keep_monthly", "1.5"]),
        ({"keep_last": True}, ["keep_last", "True"]),
        (["keep_last"], ["mapping", "['keep_last']"]),
    ],
)
def test_bad_policy_is_named(policy, words):
    with pytest.raises(ValueError) as excinfo:
        select_expired([gen("a", at(1))], policy, NOW)
    for word in words:
        assert word in str(excinfo.value)


def test_validate_policy_fills_missing_keys():
    assert validate_policy({"keep_daily": 7, "keep_last": None}) == {
        "keep_last": 0,
        "keep_daily": 7,
        "keep_weekly": 0,
        "keep_monthly": 0,
    }
    assert validate_policy(None) == dict.fromkeys(POLICY_KEYS, 0)


@pytest.mark.parametrize(
    ("generations", "now", "words"),
    [
        ([gen("a", dt.datetime(2024, 3, 1))], NOW, ["'a'", "aware"]),
        ([gen("a", at(1)), gen("a", at(2))], NOW, ["'a'", "more than once"]),
        ([{"id": "a", "complete": True}], NOW, ["finished_at"]),
        ([gen("a", at(1), complete="yes")], NOW, ["'a'", "complete", "'yes'"]),
        ([gen("", at(1))], NOW, ["id"]),
        ([gen("a", at(1))], dt.datetime(2024, 3, 31), ["now", "aware"]),
    ],
)
def test_bad_generations_are_named(generations, now, words):
    with pytest.raises(ValueError) as excinfo:
        select_expired(generations, {"keep_last": 1}, now)
    for word in words:
        assert word in str(excinfo.value)


# ---------------------------------------------------------------- examples


def test_empty_or_all_zero_policy_expires_nothing():
    history = [gen(f"g{d}", at(d)) for d in range(1, 20)] + [gen("bad", at(5, 3), complete=False)]
    assert select_expired(history, {}, NOW) == []
    assert select_expired(history, None, NOW) == []
    assert select_expired(history, dict.fromkeys(POLICY_KEYS, 0), NOW) == []


def test_keep_daily_keeps_newest_per_day_for_the_last_days_that_have_one():
    history = [
        gen("d10-early", at(10, 1)),
        gen("d10-late", at(10, 23)),
        gen("d12", at(12)),
        gen("d13-a", at(13, 2)),
        gen("d13-b", at(13, 14)),
        gen("d20", at(20)),  # days 14-19 have nothing: they do not use up the count
    ]
    expired = select_expired(history, {"keep_daily": 3}, NOW)
    assert expired == ["d10-early", "d10-late", "d13-a"]


def test_keep_last_and_daily_combine():
    history = [gen(f"d{d}", at(d)) for d in range(1, 11)]
    # keep_last 2 -> d10, d9; keep_daily 4 -> d10, d9, d8, d7
    assert select_expired(history, {"keep_last": 2, "keep_daily": 4}, NOW) == [f"d{d}" for d in range(1, 7)]


def test_keep_weekly_uses_iso_weeks():
    history = [
        gen("sun-mar-3", at(3)),  # ISO week 9
        gen("mon-mar-4", at(4)),  # ISO week 10
        gen("sun-mar-10", at(10)),  # ISO week 10 (newest of that week)
        gen("mon-mar-11", at(11)),  # ISO week 11
    ]
    assert select_expired(history, {"keep_weekly": 2}, NOW) == ["sun-mar-3", "mon-mar-4"]
    assert select_expired(history, {"keep_weekly": 3}, NOW) == ["mon-mar-4"]


def test_iso_week_across_new_year():
    # 2024-12-30 (Monday) and 2025-01-03 are both in ISO week 2025-W01.
    history = [
        gen("2024-12-29", dt.datetime(2024, 12, 29, 2, tzinfo=UTC)),  # ISO 2024-W52
        gen("2024-12-30", dt.datetime(2024, 12, 30, 2, tzinfo=UTC)),
        gen("2025-01-03", dt.datetime(2025, 1, 3, 2, tzinfo=UTC)),
    ]
    now = dt.datetime(2025, 1, 4, tzinfo=UTC)
    assert select_expired(history, {"keep_weekly": 2}, now) == ["2024-12-30"]


def test_keep_monthly():
    history = [gen(f"{m}-{d}", at(d, month=m)) for m in (1, 2, 3) for d in (1, 15, 28)]
    assert select_expired(history, {"keep_monthly": 2}, NOW) == ["1-1", "1-15", "1-28", "2-1", "2-15", "3-1", "3-15"]


def test_days_follow_the_time_zone_of_now():
    plus2 = dt.timezone(dt.timedelta(hours=2))
    history = [
        gen("a", dt.datetime(2024, 3, 10, 21, 0, tzinfo=UTC)),  # 23:00 on the 10th at +02:00
        gen("b", dt.datetime(2024, 3, 10, 22, 30, tzinfo=UTC)),  # 00:30 on the 11th at +02:00
    ]
    assert select_expired(history, {"keep_daily": 2}, NOW) == ["a"]  # one UTC day
    assert select_expired(history, {"keep_daily": 2}, NOW.astimezone(plus2)) == []  # two local days


def test_incomplete_generations():
    history = [
        gen("old-complete", at(1)),
        gen("failed-before", at(2), complete=False),
        gen("newest-complete", at(3)),
        gen("running", at(4), complete=False),
    ]
    # The failed run is older than a complete one: it goes. The newer incomplete one stays.
    assert select_expired(history, {"keep_last": 5}, NOW) == ["failed-before"]
    assert select_expired(history, {"keep_last": 1}, NOW) == ["old-complete", "failed-before"]


def test_only_incomplete_generations_are_never_expired():
    history = [gen(f"f{d}", at(d), complete=False) for d in range(1, 6)]
    assert select_expired(history, {"keep_last": 1}, NOW) == []


def test_output_is_oldest_first_whatever_the_input_order():
    history = [gen(f"g{d:02d}", at(d)) for d in range(1, 29)] + [gen("x", at(5, 9), complete=False)]
    expected = select_expired(history, {"keep_weekly": 1, "keep_last": 3}, NOW)
    assert expected == sorted(expected, key=lambda i: {g["id"]: g["finished_at"] for g in history}[i])
    shuffled = history[1::2] + history[::2][::-1]
    assert select_expired(shuffled, {"keep_weekly": 1, "keep_last": 3}, NOW) == expected


# ---------------------------------------------------------------- properties

ZONES = st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-7))])
BASE = dt.datetime(2023, 1, 1, tzinfo=UTC)


@st.composite
def histories(draw):
    count = draw(st.integers(min_value=0, max_value=40))
    minutes = draw(st.lists(st.integers(min_value=0, max_value=200 * 24 * 60), min_size=count, max_size=count))
    flags = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    zones = draw(st.lists(ZONES, min_size=count, max_size=count))
    return [
        gen(f"g{i:03d}", (BASE + dt.timedelta(minutes=m)).astimezone(z), complete=c)
        for i, (m, c, z) in enumerate(zip(minutes, flags, zones))
    ]


policies = st.fixed_dictionaries({}, optional={key: st.integers(min_value=0, max_value=6) for key in POLICY_KEYS})


def newest_complete(history):
    complete = [g for g in history if g["complete"]]
    return max(complete, key=lambda g: (g["finished_at"], g["id"])) if complete else None


def oracle_kept(history, policy, zone):
    """Independent model: group complete generations by period and take the newest of the N newest periods."""
    complete = [g for g in history if g["complete"]]
    kept = {g["id"] for g in sorted(complete, key=lambda g: (g["finished_at"], g["id"]))[::-1][: policy["keep_last"]]}
    periods = {
        "keep_daily": lambda t: t.date(),
        "keep_weekly": lambda t: t.isocalendar()[:2],
        "keep_monthly": lambda t: (t.year, t.month),
    }
    for key, period_of in periods.items():
        groups = {}
        for g in complete:
            groups.setdefault(period_of(g["finished_at"].astimezone(zone)), []).append(g)
        for period in sorted(groups, reverse=True)[: policy[key]]:
            kept.add(max(groups[period], key=lambda g: (g["finished_at"], g["id"]))["id"])
    return kept


SETTINGS = settings(max_examples=120, deadline=None)


@SETTINGS
@given(histories(), policies, ZONES)
def test_property_partition_and_newest_complete_survives(history, policy, zone):
    now = NOW.astimezone(zone)
    expired = select_expired(history, policy, now)
    ids = [g["id"] for g in history]
    assert len(expired) == len(set(expired))
    assert set(expired) <= set(ids)
    kept = set(ids) - set(expired)
    assert kept | set(expired) == set(ids) and not kept & set(expired)
    newest = newest_complete(history)
    if newest is not None:
        assert newest["id"] not in expired


@SETTINGS
@given(histories(), policies, ZONES)
def test_property_idempotent_on_survivors(history, policy, zone):
    now = NOW.astimezone(zone)
    expired = set(select_expired(history, policy, now))
    survivors = [g for g in history if g["id"] not in expired]
    assert select_expired(survivors, policy, now) == []


@SETTINGS
@given(histories(), policies, ZONES)
def test_property_matches_an_independent_model(history, policy, zone):
    full = validate_policy(policy)
    expired = set(select_expired(history, policy, NOW.astimezone(zone)))
    if not any(full.values()):
        assert expired == set()
        return
    newest = newest_complete(history)
    expected_kept = oracle_kept(history, full, zone)
    if newest is not None:
        expected_kept.add(newest["id"])
    for g in history:
        if g["complete"]:
            assert (g["id"] in expired) is (g["id"] not in expected_kept), g["id"]
        else:
            # Incomplete: expired exactly when a newer complete generation exists.
            newer_complete = newest is not None and g["finished_at"] < newest["finished_at"]
            assert (g["id"] in expired) is newer_complete, g["id"]


@SETTINGS
@given(histories(), policies)
def test_property_input_order_does_not_matter(history, policy):
    expected = select_expired(history, policy, NOW)
    assert select_expired(list(reversed(history)), policy, NOW) == expected
