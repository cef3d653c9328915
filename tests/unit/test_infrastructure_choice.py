"""The suite chooses its broker and database by what was asked for, never by whether a Docker engine answers: an
engine with no registry behind it (an air-gapped clinic network) must not turn every test into an error."""

from __future__ import annotations

import pytest

from tests.conftest import infrastructure_source

RUNNING = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "DATABASE_URL": "postgresql://x@127.0.0.1/x"}


@pytest.mark.parametrize(("env", "source"), [
    ({}, "local"),
    ({"DOCKER_HOST": "unix:///var/run/docker.sock"}, "local"),  # an engine answering is not a request
    ({"CLINICFLOW_TEST_INFRA": "containers"}, "containers"),
    ({"CLINICFLOW_TEST_INFRA": "local"}, "local"),
    (RUNNING, "running"),
    ({**RUNNING, "CLINICFLOW_TEST_INFRA": "containers"}, "running"),  # explicit settings come first
    ({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}, "local"),  # half a setting is not one
])
def test_the_suite_uses_what_was_asked_for(env, source):
    assert infrastructure_source(env) == source


def test_a_misspelt_choice_is_refused_not_guessed():
    with pytest.raises(ValueError, match="CLINICFLOW_TEST_INFRA"):
        infrastructure_source({"CLINICFLOW_TEST_INFRA": "docker"})
