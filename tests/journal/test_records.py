"""Every record the journal hands in comes back equal, read through its one row reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fleetupgrade.decide.gates import Culprit, Decision
from fleetupgrade.journal.records import (
    NotificationRecord,
    Phase,
    SupervisorRecord,
    VCenterRecord,
    WaveRecord,
)
from fleetupgrade.journal.store import Journal
from fleetupgrade.outcomes import Message, Outcome, WaveStatus

AT = datetime(2026, 12, 5, 22, 0, 1, 123456, tzinfo=UTC)


def _journal(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "state.db")
    journal.initialise(
        [WaveRecord(0, "canary", "percent", "12.5", "count", "1")],
        [SupervisorRecord("k0", "canary", 0, "vc", "sv-0", None, "9.1.0", ignore_warnings=True)],
        [VCenterRecord("vc", "https://127.0.0.1:1")],
    )
    return journal


def test_logs_read_back_as_written(tmp_path: Path) -> None:
    """Decisions, notifications, counters and controls read back with their types."""
    journal = _journal(tmp_path)
    decision = Decision(AT, "canary", "failure", 0, 1, 3, "1/3", "halt", (Culprit("vc/a", ("x",)),))
    journal.add_decision(decision)
    notification = NotificationRecord(AT, "https://h/***", "run_finished", "dropped", 0)
    journal.add_notification(notification)
    journal.add_vcenter_counters(VCenterRecord("vc", "ignored", 5, 1, 2, 3, 4))
    seq = journal.add_control("pause", wave="canary", by="me", reason=None)
    journal.mark_control_handled(seq)
    assert journal.decisions() == [decision]
    assert journal.notifications() == [notification]
    assert journal.vcenters() == [VCenterRecord("vc", "https://127.0.0.1:1", 5, 1, 2, 3, 4)]
    (control,) = journal.controls()
    assert (control.seq, control.command, control.wave, control.reason) == (
        seq,
        "pause",
        "canary",
        None,
    )
    assert isinstance(control.at, datetime)
    assert isinstance(control.handled_at, datetime)
    assert journal.controls(pending_only=True) == []


def test_supervisor_and_wave_rows_keep_their_types(tmp_path: Path) -> None:
    """Enums, flags, instants and messages of a row come back typed, NULLs as None."""
    journal = _journal(tmp_path)
    journal.mark_intent("k0", vcenter_at=AT)
    journal.mark_launched("k0", task_id="t-1", started_at=AT, adopted=True)
    journal.mark_done("k0", Outcome.UPGRADED, None, [Message("ERROR", "x.y", "text")])
    journal.set_wave_status("canary", WaveStatus.COMPLETED, started_at=AT)
    journal.close()
    reader = Journal(tmp_path / "state.db", readonly=True)
    row = reader.supervisor("k0")
    assert (row.phase, row.outcome, row.adopted, row.ignore_warnings) == (
        Phase.DONE,
        Outcome.UPGRADED,
        True,
        True,
    )
    assert (row.started_at, row.vcenter_intent_at, row.job_ended_at) == (AT, AT, None)
    assert row.messages == (Message("ERROR", "x.y", "text"),)
    assert reader.waves() == [
        WaveRecord(0, "canary", "percent", "12.5", "count", "1", WaveStatus.COMPLETED, AT, None)
    ]


def test_the_writer_s_copy_of_a_row_matches_the_row_after_every_transition(
    tmp_path: Path,
) -> None:
    """The in-memory row a transition leaves equals the row read back from disk."""
    journal = _journal(tmp_path)
    journal.supervisors()  # load the in-memory copy
    steps = [
        lambda: journal.resolve("k0", id="sv-0", name="alpha", from_version="9.0.0", nodes=5),
        lambda: journal.mark_intent("k0", vcenter_at=AT),
        lambda: journal.mark_no_job("k0", "vCenter said no"),
        lambda: journal.mark_intent("k0"),
        lambda: journal.mark_launched("k0", task_id="t-1", started_at=AT, adopted=True),
        lambda: journal.set_progress("k0", 40),
        lambda: journal.mark_job_ended("k0", AT),
        lambda: journal.mark_done(
            "k0", Outcome.FAILED, "token=hunter2 broke", (Message("ERROR", "x.y", "bad"),)
        ),
    ]
    for step in steps:
        step()
        fresh = Journal(tmp_path / "state.db", readonly=True)
        try:
            assert journal.supervisor("k0") == fresh.supervisor("k0")
        finally:
            fresh.close()


def test_a_job_healthy_at_once_records_its_end_with_its_outcome(tmp_path: Path) -> None:
    """mark_done can carry the job's end, so a success without a health wait is one write."""
    journal = _journal(tmp_path)
    journal.supervisors()
    journal.mark_intent("k0")
    journal.mark_launched("k0", task_id="t-1", started_at=AT)
    journal.mark_done("k0", Outcome.UPGRADED, None, job_ended_at=AT)
    fresh = Journal(tmp_path / "state.db", readonly=True)
    try:
        assert fresh.supervisor("k0").job_ended_at == AT
        assert journal.supervisor("k0") == fresh.supervisor("k0")
    finally:
        fresh.close()
