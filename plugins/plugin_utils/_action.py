# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The frame of the restore actions (win_vm_restore, win_vm_file_restore): one ``run`` for both.

:class:`StepAction` validates the task's options (``_validate``), runs the action's steps (``_steps``) and
turns what stops them into the result: a payload's failure (:class:`PayloadError`, naming its step), a failed
step (:class:`StepFailed`) or a restore that cannot go ahead (:class:`RestoreError`, a ``ValueError``), with
``changed`` as far as the steps got and the warnings they gathered. ``_payload`` runs one payload and insists
on an object as its answer.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import (
    PayloadError,
    payload_error_result,
    run_payload,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import StepFailed

__all__ = ["StepAction"]


class StepAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC`` and ``_VALID_ARGS`` and write ``_validate``, ``_steps`` and ``_error_step``."""

    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {}

    def _validate(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        raise NotImplementedError

    def _steps(self) -> None:
        raise NotImplementedError

    def _error_step(self) -> str:
        """The step a :class:`RestoreError` from ``_steps`` is reported at."""
        return getattr(self, "_step", "plan")

    def _started(self) -> None:
        """Called before the steps (a clock to read, a run id to make)."""

    def _ended(self) -> None:
        """Called after the steps, whatever happened (the time they took into ``self._out``)."""

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)[1]
        try:
            options = self._validate(args)
        except ValueError as err:  # RestoreError is a ValueError
            result.update(failed=True, changed=False, msg=f"invalid options: {err}")
            return result
        self._task_vars = task_vars
        self._options = options
        self._out: Dict[str, Any] = {"changed": False, "mode": options["mode"], "vm": options["vm"]}
        self._warnings: List[str] = []
        self._started()
        try:
            self._steps()
        except PayloadError as err:
            self._out.update(payload_error_result(err, changed=self._out["changed"]))
        except StepFailed as err:
            self._out.update(failed=True, msg=err.message, step=err.step)
        except ValueError as err:  # a RestoreError: the restore cannot go ahead
            self._out.update(failed=True, msg=str(err), step=self._error_step())
        self._ended()
        if self._warnings:
            self._out["warnings"] = result.get("warnings", []) + self._warnings
        result.update(self._out)
        return result

    def _payload(self, name: str, parameters: Mapping[str, Any], step: str) -> Mapping[str, Any]:
        self._step = step
        answer = run_payload(self, name, parameters, self._task_vars, step=step)
        if not isinstance(answer, Mapping):
            raise StepFailed(step, f"{step}: payload {name} returned {str(answer)[:200]!r}, expected an object")
        return answer
