// `nlpc runs report`: flags only; rendering is in src/runs/report.cpp.
#include <cstdio>

#include "commands.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/store.h"
#include "run_options.h"

namespace nlpc::cli {

void register_runs_report(CLI::App* runs_app) {
  struct Opts {
    std::vector<std::string> run_ids;
    std::string experiment;
    std::string runs_dir;
    std::string output = "report.html";
    std::string metric = "accuracy";
    std::string title = "nlpc run report";
    size_t max_classes = 60;
  };
  static Opts o;
  auto* r = runs_app->add_subcommand("report", "Render a self-contained HTML report (inline SVG charts) comparing runs");
  r->add_option("run_ids", o.run_ids, "Run ids or unique prefixes (default: every run of --experiment, or all runs)");
  r->add_option("--experiment", o.experiment, "Runs of this experiment");
  add_runs_dir_option(r, o.runs_dir);
  r->add_option("-o,--output", o.output, "HTML file to write")->capture_default_str();
  r->add_option("--metric", o.metric, "Metric of the bar chart with confidence intervals")->capture_default_str();
  r->add_option("--title", o.title, "Report title")->capture_default_str();
  r->add_option("--max-classes", o.max_classes, "Confusion matrices show at most this many classes (rest: other)")
      ->capture_default_str();
  on_run(r, [r] {
    const std::string dir = runs::resolve_runs_dir(o.runs_dir);
    ReportOptions ro;
    ro.title = o.title;
    ro.metric = o.metric;
    ro.metric_required = r->count("--metric") > 0;
    ro.max_classes = o.max_classes;
    if (!o.run_ids.empty()) {
      for (const auto& id : o.run_ids) ro.run_dirs.push_back(runs::find_run(dir, id));
    } else {
      auto all = runs::list_runs(dir, o.experiment);
      for (auto it = all.rbegin(); it != all.rend(); ++it) ro.run_dirs.push_back(it->dir);  // oldest first
    }
    if (ro.run_dirs.empty()) throw UsageError("no runs found in " + dir + (o.experiment.empty() ? "" : " for experiment " + o.experiment));
    write_file_atomic(o.output, render_report(ro));
    std::printf("wrote %s (%zu runs)\n", o.output.c_str(), ro.run_dirs.size());
    return 0;
  });
}

}  // namespace nlpc::cli
