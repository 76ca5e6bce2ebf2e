# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Choose which backup generations to delete, with ``restic forget`` semantics.

The one public function is :func:`select_expired`; :func:`validate_policy` is exposed so
callers can reject a bad policy before anything runs.

Rules, applied to **complete** generations ordered newest first:

* ``keep_last: N`` keeps the N newest.
* ``keep_daily: N`` / ``keep_weekly: N`` / ``keep_monthly: N`` keep the newest generation of
  each calendar day / ISO week / month, for the N most recent periods that have a complete
  generation (periods without one do not count, as in restic).
* A generation kept by any rule is kept. Everything else expires.
* The newest complete generation is never expired.

**Incomplete** generations (a run that failed, or one still running) never count towards any
rule. They expire only once a complete generation finished after them exists; an incomplete
generation newer than the newest complete one is kept (it may be the run in progress).

An empty policy, or one where every count is 0, expires nothing at all.

Calendar periods are those of the time zone of ``now``: pass ``now`` in the zone whose midnight
should separate days (UTC is fine). Unlike restic >= 0.16, the oldest generation is not kept
additionally when a rule still has counts left.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

__all__ = ["POLICY_KEYS", "select_expired", "validate_policy"]

#: Policy keys understood by :func:`select_expired`.
POLICY_KEYS = ("keep_last", "keep_daily", "keep_weekly", "keep_monthly")


def validate_policy(policy: Optional[Mapping[str, Any]]) -> Dict[str, int]:
    """Check a retention policy and return it with every key present (missing or None = 0).

    :raises ValueError: naming the key and value for an unknown key, a value that is not a
        whole number, or a negative value.
    """
    if policy is None:
        policy = {}
    if not isinstance(policy, Mapping):
        raise ValueError(f"retention policy must be a mapping of {', '.join(POLICY_KEYS)}; got {policy!r}")
    unknown = sorted(str(key) for key in policy if key not in POLICY_KEYS)
    if unknown:
        raise ValueError(
            f"unknown retention policy key(s) {', '.join(repr(k) for k in unknown)}; "
            f"expected only {', '.join(POLICY_KEYS)}"
        )
    result = {}
    for key in POLICY_KEYS:
        value = policy.get(key)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"retention policy {key} must be a whole number >= 0; got {value!r}")
        if value < 0:
            raise ValueError(f"retention policy {key} must be a whole number >= 0; got {value!r}")
        result[key] = value
    return result


def _check_generations(generations: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    items = list(generations)
    seen = set()
    for index, gen in enumerate(items):
        if not isinstance(gen, Mapping):
            raise ValueError(f"generation #{index} must be a mapping with id, finished_at, complete; got {gen!r}")
        for key in ("id", "finished_at", "complete"):
            if key not in gen:
                raise ValueError(f"generation #{index} ({gen.get('id')!r}) lacks {key!r}")
        gen_id = gen["id"]
        if not isinstance(gen_id, str) or not gen_id:
            raise ValueError(f"generation #{index} id must be a non-empty string; got {gen_id!r}")
        if gen_id in seen:
            raise ValueError(f"generation id {gen_id!r} appears more than once")
        seen.add(gen_id)
        finished = gen["finished_at"]
        if not isinstance(finished, _dt.datetime) or finished.utcoffset() is None:
            raise ValueError(f"generation {gen_id!r} finished_at must be a time-zone aware datetime; got {finished!r}")
        if not isinstance(gen["complete"], bool):
            raise ValueError(f"generation {gen_id!r} complete must be true or false; got {gen['complete']!r}")
    return items


def _sort_key(gen: Mapping[str, Any]) -> Tuple[_dt.datetime, str]:
    return (gen["finished_at"], gen["id"])


def select_expired(
    generations: Iterable[Mapping[str, Any]],
    policy: Optional[Mapping[str, Any]],
    now: _dt.datetime,
) -> List[str]:
    """Return the ids of the generations to delete.

    :param generations: dicts with ``id`` (str, unique), ``finished_at`` (aware datetime) and
        ``complete`` (bool); in any order.
    :param policy: ``keep_last``, ``keep_daily``, ``keep_weekly``, ``keep_monthly`` (ints >= 0;
        missing or None means 0). See :func:`validate_policy`.
    :param now: an aware datetime; its time zone decides where days, weeks and months begin.
    :returns: the expired ids, oldest first (by ``finished_at``, then id): a deterministic order
        that does not depend on the input order.
    :raises ValueError: for a bad policy, a naive ``now`` or a malformed generation (naming it).
    """
    counts = validate_policy(policy)
    if not isinstance(now, _dt.datetime) or now.utcoffset() is None:
        raise ValueError(f"now must be a time-zone aware datetime; got {now!r}")
    items = _check_generations(generations)
    if not any(counts.values()):
        return []

    zone = now.tzinfo
    complete = sorted((g for g in items if g["complete"]), key=_sort_key, reverse=True)
    kept = set()
    if complete:
        kept.add(complete[0]["id"])

    kept.update(gen["id"] for gen in complete[: counts["keep_last"]])

    buckets = (
        ("keep_daily", lambda t: (t.year, t.month, t.day)),
        ("keep_weekly", lambda t: tuple(t.isocalendar())[:2]),
        ("keep_monthly", lambda t: (t.year, t.month)),
    )
    for key, bucket in buckets:
        left = counts[key]
        last = None
        for gen in complete:
            if left <= 0:
                break
            period = bucket(gen["finished_at"].astimezone(zone))
            if period != last:
                kept.add(gen["id"])
                last = period
                left -= 1

    newest_complete = complete[0]["finished_at"] if complete else None
    expired = []
    for gen in sorted(items, key=_sort_key):
        if gen["complete"]:
            if gen["id"] not in kept:
                expired.append(gen["id"])
        elif newest_complete is not None and gen["finished_at"] < newest_complete:
            expired.append(gen["id"])
    return expired
