"""Batch entries of ad_constrained_delegation: defaults from the top level, and refusals before connecting."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.modules import ad_constrained_delegation as mod

TOP = {
    "computer": None,
    "accounts": None,
    "services": [{"service": "cifs", "host": "fs01"}],
    "spn_forms": "both",
    "state": "present",
    "exclusive": False,
    "protocol_transition": True,
    "allow_unconstrained": False,
    "mode": "classic",
}


def _entry(computer, **given):
    return {"computer": computer, **{k: given.get(k) for k in mod.SETTINGS}}


def test_entries_take_what_they_do_not_give_from_the_top_level():
    params = dict(TOP, accounts=[_entry("HV01"), _entry("HV02", services=[], protocol_transition=False)])
    first, second = mod.account_specs(params)
    assert first["services"] == TOP["services"] and first["protocol_transition"] is True
    assert second["services"] == [] and second["protocol_transition"] is False, "an explicit empty list counts"
    assert first["label"] == "accounts[0] (HV01)" and second["label"] == "accounts[1] (HV02)"
    assert first["parsed"] == [("pair", {"service": "cifs", "host": "fs01", "port": None, "forms": None})]


def test_a_single_run_is_a_batch_of_one():
    (spec,) = mod.account_specs(dict(TOP, computer="HV01"))
    assert spec["computer"] == "HV01" and spec["label"] == "HV01"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(" "), "accounts[1].computer is empty"),
        (_entry("HV02", services=["cifs"]), "accounts[1].services[0]: SPN 'cifs' is malformed"),
        (_entry("HV02", services=[{"service": "cifs"}]), "accounts[1].services[0] must have a service"),
        (_entry("HV02", exclusive=True, state="absent"), "accounts[1].exclusive: true only goes with state: present"),
    ],
)
def test_a_malformed_entry_is_named(entry, message):
    with pytest.raises(mod.DelegationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        mod.account_specs(dict(TOP, accounts=[_entry("HV01"), entry]))
