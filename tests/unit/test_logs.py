"""Log lines are JSON and never carry identifiable fields."""

from __future__ import annotations

import json
import logging

import structlog

from clinicflow.shared.logs import bind_event_context, clear_event_context, configure_logging


def test_identifiable_fields_are_redacted_and_event_ids_are_kept(capsys):
    configure_logging("INFO")
    bind_event_context(event_id="e1", event_type="enquiry.received", correlation_id="c1", pathway_id="p1")
    structlog.get_logger("test").info("enquiry seen", email="ada@example.org", First_Name="Ada", story="my story")
    clear_event_context()
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["email"] == line["First_Name"] == line["story"] == "[redacted]"
    assert (line["event_id"], line["pathway_id"], line["correlation_id"]) == ("e1", "p1", "c1")
    assert "ada@example.org" not in json.dumps(line)


def test_standard_library_loggers_go_through_the_same_redaction(capsys):
    configure_logging("INFO")
    logging.getLogger("some.library").info("hello", extra={"phone": "+447700900123"})
    out = capsys.readouterr().out
    assert "+447700900123" not in out
    line = json.loads(out.strip().splitlines()[-1])
    assert (line["event"], line["phone"]) == ("hello", "[redacted]")
