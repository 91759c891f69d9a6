#pragma once
// `nlpc runs list | show | compare | export-mlflow`: options filled by src/cli/cmd_runs.cpp and the
// functions that print the results to stdout. Each returns the process exit code.
#include <string>
#include <vector>

#include "nlpc/runs/mlflow_export.h"
#include "nlpc/runs/store.h"

namespace nlpc::runs {

struct ListOptions {
  std::string runs_dir;
  std::string experiment;        // empty: all
  std::vector<std::string> status;  // only runs with one of these statuses (any case); empty: all
  std::string format = "text";  // text | json (a table)
};

struct DeleteOptions {
  std::string runs_dir;
  std::vector<std::string> run_ids;  // ids or unique prefixes
  std::string experiment;            // with --status: only this experiment
  std::vector<std::string> status;   // every run with one of these statuses
  bool dry_run = false;              // print what would be deleted
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
// Removes run folders (src/commands/runs_delete.cpp). Needs run ids or --status; a RUNNING run
// whose process is alive is never deleted. Prints one line per run.
int run_delete(const DeleteOptions& opts);

// The runs of `runs` whose status is one of `statuses` (RUNNING, FINISHED, FAILED, KILLED, any
// case; empty: all). An unknown status is a UsageError.
std::vector<RunRecord> filter_status(std::vector<RunRecord> runs, const std::vector<std::string>& statuses);

// The same, rendered to a string (used by the functions above and by tests).
std::string render_list(const ListOptions& opts);
std::string render_show(const ShowOptions& opts);
std::string render_compare(const CompareOptions& opts);

}  // namespace nlpc::runs
