"""When one vCenter's bulk poller reads, what it reads, and when a job ended: pure rules.

The poller (rollout/poller.py) owns the state: the jobs it follows, their progress
readings, the latest round. These functions own its decisions, so they are tested without
a vCenter or a clock (docs/design.md, "Concurrency"):

* :class:`Pace` predicts a job's end from two progress readings of its task: the latest
  end they allow, so that a round due then finds a steady job ended;
* :func:`round_due` says when the next round starts: at the interval while someone waits
  or a job has no predicted end, else at the predicted end of the jobs that end first
  (those within half an interval of it, so that one round sees them all), never later
  than :data:`MAX_QUIET_INTERVALS` intervals after a running job's task was last read;
* :func:`task_needed` says whether a round that read the Upgrades list first must read a
  job's task too;
* :func:`estimated_end` places a job's end between the last read that saw it running and
  the round that saw it ended. Learned durations (rollout/learned.py) are measured to this
  instant, not to the round: a round starts a little after the predicted end on purpose,
  and learning that lateness would make every later prediction later still.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleetupgrade.decide.classify import at_target
from fleetupgrade.vcenter import UpgradeState, UpgradeSummary

__all__ = [
    "MAX_QUIET_INTERVALS",
    "JobTiming",
    "Pace",
    "ends_due",
    "estimated_end",
    "round_due",
    "task_needed",
]

MAX_QUIET_INTERVALS = 5
"""The longest stretch, in poll intervals, without reading a running job's task.

It bounds how late an unexpected end (a failure, a stall) is seen while the poller waits
for a predicted end: five 30-second intervals by default.
"""

_CLUSTER = 0.5  # intervals: predicted ends this close to the first one share its round
_MARGIN = 0.1  # intervals (at most _MARGIN_CAP seconds) after a predicted end
_MARGIN_CAP = 0.25


@dataclass(frozen=True, slots=True)
class Pace:
    """Two progress readings (percent) of one task: enough to predict when it ends."""

    first_at: float
    first: int
    last_at: float
    last: int

    def predicted_end(self) -> float | None:
        """When the task reaches 100 % at the slowest rate its readings allow (None: no rate).

        vCenter reports whole percents, each up to one below the truth: between two
        readings, one point fewer than they differ by may have passed. A prediction from
        that rate is never early for a steady job (a round due at it finds the job ended,
        rather than one interval of waiting after a round that came too soon); it is late by
        up to about two points' worth of the time left, and sharpens as readings spread apart.
        """
        points = self.last - self.first - 1
        if points <= 0 or self.last_at <= self.first_at:
            return None
        rate = points / (self.last_at - self.first_at)
        return self.last_at + (100 - self.last) / rate

    def after(self, at: float, percent: int) -> Pace:
        """The readings once ``percent`` was read at ``at``.

        A rate is measured from real progress only: readings at 0 % (prechecks still
        running) or going backwards start over from this one.
        """
        if percent <= 0 or percent < self.first or self.first <= 0:
            return Pace(at, percent, at, percent)
        if percent > self.last:
            return Pace(self.first_at, self.first, at, percent)
        return self


@dataclass(frozen=True, slots=True)
class JobTiming:
    """What round planning knows of one followed job."""

    predicted_end: float | None  # None: no rate yet and no expected duration
    read_at: float  # when its task was last read (when following began, before that)


def round_due(
    jobs: Iterable[JobTiming], *, last_round: float, interval: float, waiting: bool
) -> float:
    """When the next round should start (``waiting``: someone waits for a round).

    A round is never less than one interval after the last one. Jobs started together
    end together: the round waits for the last predicted end within half an interval of
    the first, plus a small margin, so that one round sees them all ended. A running job's
    task is never left unread for longer than :data:`MAX_QUIET_INTERVALS` intervals,
    except that a read due less than one interval before the predicted end waits for it.
    """
    earliest = last_round + interval
    timings = list(jobs)
    if waiting or not timings:
        return earliest
    predicted: list[float] = []
    for job in timings:
        if job.predicted_end is None:
            return earliest  # a job without a prediction: poll at the interval
        predicted.append(job.predicted_end)
    first = min(predicted)
    cluster = max(end for end in predicted if end <= first + _CLUSTER * interval)
    target = cluster + min(_MARGIN * interval, _MARGIN_CAP)
    latest = min(job.read_at for job in timings) + MAX_QUIET_INTERVALS * interval
    if target > latest + interval:
        target = latest
    return max(earliest, target)


def ends_due(jobs: Iterable[JobTiming], now: float) -> bool:
    """Whether some job's predicted end has come (the round then reads the list first)."""
    return any(job.predicted_end is not None and job.predicted_end <= now for job in jobs)


def task_needed(
    summary: UpgradeSummary | None, *, desired: str, timing: JobTiming, now: float, interval: float
) -> bool:
    """In a round that read the Upgrades list first: whether this job's task is read too.

    A job idle at its target ended well: the list says all there is to say. One that ended
    otherwise, or that the list does not show, has its task read (it says why). One still
    in progress is read only for a first rate (no prediction yet) or for the stall watch
    (unread for :data:`MAX_QUIET_INTERVALS` intervals).
    """
    if summary is not None and at_target(summary.state, summary.current_version, desired):
        return False
    if summary is None or summary.state is not UpgradeState.INPROGRESS:
        return True
    stale = now - timing.read_at >= MAX_QUIET_INTERVALS * interval
    return timing.predicted_end is None or stale


def estimated_end(
    *, predicted: float | None, running_seen: float | None, ended_seen: float
) -> float:
    """When a job ended, as its reads can place it.

    It ended after the last read that saw it running (``running_seen``, None: no read
    did) and before the round that saw it ended (``ended_seen``). Its predicted end is the
    estimate when it lies in between: that round was started a margin after it on
    purpose. Otherwise the prediction was wrong, and the round that saw the end is all
    that is known.
    """
    if predicted is None or predicted > ended_seen:
        return ended_seen
    if running_seen is not None and predicted < running_seen:
        return ended_seen
    return predicted
