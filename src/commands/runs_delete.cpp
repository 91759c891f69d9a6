// `nlpc runs delete` and the --status filter of `nlpc runs list` (see include/nlpc/commands/runs.h).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>

#include "nlpc/commands/runs.h"
#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/runs/run.h"

namespace nlpc::runs {
namespace {
std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// RUNNING with a live process (on this host): its command is still writing to the folder.
bool still_running(const RunRecord& r) { return r.status() == "RUNNING" && !r.process_gone(); }
}  // namespace

std::vector<RunRecord> filter_status(std::vector<RunRecord> runs, const std::vector<std::string>& statuses) {
  if (statuses.empty()) return runs;
  std::set<std::string> want;
  for (const auto& s : statuses) {
    const std::string u = upper(s);
    if (u != "RUNNING" && u != "FINISHED" && u != "FAILED" && u != "KILLED") {
      throw UsageError("unknown --status '" + s + "' (expected RUNNING, FINISHED, FAILED or KILLED)");
    }
    want.insert(u);
  }
  runs.erase(std::remove_if(runs.begin(), runs.end(), [&](const RunRecord& r) { return want.count(r.status()) == 0; }),
             runs.end());
  return runs;
}

int run_delete(const DeleteOptions& opts) {
  if (opts.run_ids.empty() && opts.status.empty()) {
    throw UsageError("nlpc runs delete needs run ids or --status (e.g. --status FAILED)");
  }
  if (!opts.experiment.empty()) validate_experiment_name(opts.experiment);
  const std::string dir = resolve_runs_dir(opts.runs_dir);
  std::vector<RunRecord> runs;
  if (!opts.run_ids.empty()) {
    for (const auto& id : opts.run_ids) runs.push_back(load_run(find_run(dir, id)));
    runs = filter_status(std::move(runs), opts.status);
  } else {
    runs = filter_status(list_runs(dir, opts.experiment), opts.status);
  }
  int deleted = 0;
  for (const auto& r : runs) {
    if (still_running(r)) {
      spdlog::warn("run {} ({}) is still running (pid {}): not deleted", r.id(), r.name(),
                   r.info.value("pid", int64_t(0)));
      continue;
    }
    if (!opts.dry_run) std::filesystem::remove_all(r.dir);
    std::printf("%s %s (%s, %s)\n", opts.dry_run ? "would delete" : "deleted", r.id().c_str(), r.name().c_str(),
                r.status().c_str());
    ++deleted;
  }
  std::printf("%s %d run%s\n", opts.dry_run ? "would delete" : "deleted", deleted, deleted == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace nlpc::runs
