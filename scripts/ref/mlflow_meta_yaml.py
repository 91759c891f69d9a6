#!/usr/bin/python3
"""Prints meta.yaml files exactly as MLflow's FileStore writes them (PyYAML safe_dump, sorted keys,
block style), for the values used in tests/unit/test_runs.cpp ("export-mlflow writes MLflow's
file-store layout"). Run with Debian's python3 (python3-yaml):  /usr/bin/python3 scripts/ref/mlflow_meta_yaml.py ROOT
The expected strings in the test were produced by this script."""
import sys

import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/mlruns"


def dump(d):
    return yaml.dump(d, default_flow_style=False, allow_unicode=True, sort_keys=True, Dumper=yaml.SafeDumper)


# FileStore._create_experiment_with_id: dict(Experiment) without tags.
print(dump({"experiment_id": "0", "name": "Default", "artifact_location": f"file://{root}/0",
            "lifecycle_stage": "active", "creation_time": 1700000000000, "last_update_time": 1700000000000}))
# _make_persisted_run_info_dict after the run ended (update_run_info -> _overwrite_run_info).
run_id = "a" * 32
print(dump({"run_uuid": run_id, "run_id": run_id, "run_name": "brave-otter-042", "experiment_id": "42",
            "user_id": "alice", "status": 3, "start_time": 1700000000000, "end_time": 1700000060000,
            "artifact_uri": f"file://{root}/42/{run_id}/artifacts", "lifecycle_stage": "active", "tags": [],
            "source_type": 4, "source_name": "", "entry_point_name": "", "source_version": ""}))
