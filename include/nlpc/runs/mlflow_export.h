#pragma once
// Export of nlpc run folders to MLflow's file store ("mlruns" layout), readable by
// `mlflow ui --backend-store-uri DIR` (MLflow <= 3.12; 3.13 needs MLFLOW_ALLOW_FILE_STORE=true):
//
//   DIR/.trash/
//   DIR/0/meta.yaml                          the "Default" experiment, as MLflow creates it
//   DIR/<exp_id>/meta.yaml                   artifact_location, creation_time, experiment_id,
//                                            last_update_time, lifecycle_stage, name
//   DIR/<exp_id>/<run_id>/meta.yaml          artifact_uri, end_time, entry_point_name, experiment_id,
//                                            lifecycle_stage, run_id, run_name, run_uuid, source_name,
//                                            source_type, source_version, start_time, status, tags, user_id
//   DIR/<exp_id>/<run_id>/params/<key>       the value, no trailing newline
//   DIR/<exp_id>/<run_id>/metrics/<key>      "<timestamp_ms> <value> <step>\n" per point
//   DIR/<exp_id>/<run_id>/tags/<key>         mlflow.runName, mlflow.user, mlflow.source.name,
//                                            mlflow.source.type, mlflow.source.git.commit, nlpc.*, user tags
//   DIR/<exp_id>/<run_id>/artifacts/...      copies of the run's artifacts
//
// Keys containing '/' become sub-folders, as MLflow stores them. nlpc's experiment "default" maps
// to MLflow's "Default" experiment (id 0); any other experiment reuses the id of an experiment of
// the same name already in DIR, else gets a stable 18-digit id derived from its name. Exporting
// again rewrites each run folder from its source, so repeated exports give the same tree.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlpc::runs {

struct ExportMlflowOptions {
  std::string runs_dir;    // resolved with resolve_runs_dir()
  std::string to;          // destination folder (created)
  std::string experiment;  // empty: every experiment
};

struct ExportSummary {
  int experiments = 0;
  int runs = 0;
};

ExportSummary export_mlflow(const ExportMlflowOptions& opts);

// Formatting helpers, exposed for tests.
// Python's repr(float): "0.5", "1.0", "1e-05", "1.5e+16", "nan", "inf", "-inf".
std::string python_float_repr(double v);
// str() of a JSON param value as mlflow.log_params would write it: strings as is, integers in
// decimal, floats as python_float_repr, true/false as True/False, null as None, arrays and
// objects as compact JSON.
std::string mlflow_param_value(const nlohmann::json& v);
// A YAML scalar as PyYAML's safe_dump writes a plain string: plain when unambiguous, else
// single-quoted ('' for an embedded quote).
std::string yaml_string(const std::string& s);
// file:// URI of an absolute path, percent-encoded like pathlib's as_uri().
std::string file_uri(const std::string& abs_path);
// The MLflow experiment id nlpc uses for an experiment name when DIR has none of that name.
std::string stable_experiment_id(const std::string& name);

}  // namespace nlpc::runs
