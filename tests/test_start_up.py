"""What create_app does once the app is built: long-lived start-up objects leave the full collections."""
from __future__ import annotations

import gc

import workflow
from workflow import config

from .conftest import make_app


def test_a_served_app_is_configured_to_settle_its_start_up(tmp_path):
    assert config.from_environment({"FUNDFLOW_DATA_DIR": str(tmp_path)})["GC_FREEZE"] is True


def test_a_served_app_freezes_what_start_up_made_and_makes_full_passes_rare(database_url, tmp_path):
    gc.unfreeze()  # an earlier test's served app (a benchmark's) may have frozen this process
    threshold = gc.get_threshold()
    app = make_app(database_url, tmp_path, GC_FREEZE=True)
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, mappers and routes, and whatever the process held
        assert len(gc.get_objects()) < frozen / 10  # what a full collection still walks
        assert gc.get_threshold() == (*threshold[:2], workflow.FULL_COLLECTION_EVERY)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        app.extensions["fundflow.engine"].dispose()


def test_the_tests_apps_freeze_nothing(database_url, tmp_path):
    before, threshold = gc.get_freeze_count(), gc.get_threshold()
    app = make_app(database_url, tmp_path)
    try:
        assert app.config["GC_FREEZE"] is False
        assert (gc.get_freeze_count(), gc.get_threshold()) == (before, threshold)
    finally:
        app.extensions["fundflow.engine"].dispose()
