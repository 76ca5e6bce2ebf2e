"""A clock for tests of code that polls: sleeping advances it, nobody waits.

Tests put :meth:`FakeClock.clock` (also as ``monotonic``) and :meth:`FakeClock.sleep` where the code under
test reads the time and sleeps; every sleep is recorded in :attr:`FakeClock.sleeps`.
"""

from __future__ import annotations

import datetime
from typing import List, Optional


class FakeClock:
    def __init__(self, start: float = 1000.0, utc_start: Optional[datetime.datetime] = None) -> None:
        self.start = start
        self.now = start
        self.utc_start = utc_start
        self.sleeps: List[float] = []

    def clock(self) -> float:
        return self.now

    monotonic = clock
    __call__ = clock

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"slept a negative time: {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds

    def utcnow(self) -> datetime.datetime:
        """The wall clock that goes with it: ``utc_start`` when the clock started, advanced by every sleep."""
        assert self.utc_start is not None, "give FakeClock a utc_start to read the wall clock"
        return self.utc_start + datetime.timedelta(seconds=self.now - self.start)

    @classmethod
    def install(cls, monkeypatch, module, **kwargs) -> FakeClock:
        """A fake clock put in place of ``module.clock`` and ``module.sleep`` (as an action plugin names them)."""
        fake = cls(**kwargs)
        monkeypatch.setattr(module, "clock", fake.clock)
        monkeypatch.setattr(module, "sleep", fake.sleep)
        return fake
