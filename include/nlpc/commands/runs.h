#pragma once
// `nlpc runs list | show | compare | export-mlflow`: options filled by src/cli/cmd_runs.cpp and the
// functions that print the results to stdout. Each returns the process exit code.
#include <string>
#include <vector>

#include "nlpc/runs/mlflow_export.h"

namespace nlpc::runs {

struct ListOptions {
  std::string runs_dir;
  std::string experiment;        // empty: all
  std::string format = "table";  // table | json
};

struct ShowOptions {
  std::string runs_dir;
  std::string run_id;           // or a unique prefix
  std::string format = "text";  // text | json
};

struct CompareOptions {
  std::string runs_dir;
  std::vector<std::string> run_ids;  // two or more (or unique prefixes)
  std::vector<std::string> metrics;  // empty: every metric of any run
  std::string format = "text";       // text | json
};

int run_list(const ListOptions& opts);
int run_show(const ShowOptions& opts);
int run_compare(const CompareOptions& opts);
int run_export_mlflow(const ExportMlflowOptions& opts);

// The same, rendered to a string (used by the functions above and by tests).
std::string render_list(const ListOptions& opts);
std::string render_show(const ShowOptions& opts);
std::string render_compare(const CompareOptions& opts);

}  // namespace nlpc::runs
