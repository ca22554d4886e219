"""The run's switches: a stop shortens shielded work registered with it, and only that."""

from __future__ import annotations

import anyio

from fleetupgrade.rollout.control import RunControl


def test_a_stop_shortens_a_registered_shield_to_its_grace() -> None:
    """A shielded create gets at most its grace once the run stops; before, its deadline."""

    async def scenario() -> tuple[float, float, float]:
        control = RunControl()
        with anyio.CancelScope(shield=True) as shield:
            shield.deadline = anyio.current_time() + 60
            with control.shortened_on_stop(shield, 0.05):
                before = shield.deadline - anyio.current_time()
                control.stop("SIGTERM")
                after = shield.deadline - anyio.current_time()
                await anyio.sleep(1)  # cut off by the shortened deadline
        assert shield.cancelled_caught
        after_exit = anyio.current_time()
        with anyio.CancelScope(shield=True) as later:
            later.deadline = after_exit + 60
            with control.shortened_on_stop(later, 0.05):  # registered after the stop
                waited = later.deadline - anyio.current_time()
        return before, after, waited

    before, after, waited = anyio.run(scenario)
    assert before > 59
    assert after <= 0.05
    assert 0 < waited <= 0.05
