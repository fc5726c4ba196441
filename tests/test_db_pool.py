"""Each process's connection pool: big enough for a request's read and write connections, set by the operator."""
from __future__ import annotations

import pytest

from workflow import config
from workflow.db import DEFAULT_POOL_SIZE


def _pool(app):
    pool = app.extensions["fundflow.engine"].pool
    return pool.size(), pool._max_overflow


def test_a_process_keeps_ten_connections_and_opens_as_many_again_when_busy(app):
    assert _pool(app) == (DEFAULT_POOL_SIZE, DEFAULT_POOL_SIZE) == (10, 10)


def test_the_operator_sizes_the_pool_to_the_servers_threads(tmp_path):
    settings = config.from_environment({"FUNDFLOW_DATA_DIR": str(tmp_path), "FUNDFLOW_DB_POOL_SIZE": "24"})
    assert settings["DB_POOL_SIZE"] == 24
    assert config.from_environment({"FUNDFLOW_DATA_DIR": str(tmp_path)})["DB_POOL_SIZE"] == DEFAULT_POOL_SIZE


@pytest.mark.parametrize("text", ["0", "-3", "ten", "2.5"])
def test_a_pool_size_that_is_not_a_whole_number_stops_the_start_naming_the_variable(tmp_path, text):
    with pytest.raises(ValueError, match="FUNDFLOW_DB_POOL_SIZE must be a whole number of at least 1"):
        config.from_environment({"FUNDFLOW_DATA_DIR": str(tmp_path), "FUNDFLOW_DB_POOL_SIZE": text})
