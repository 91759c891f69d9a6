// `nlpc runs list | show | compare | export-mlflow`: flags only; the work is in src/runs/.
#include "commands.h"
#include "module.h"
#include "nlpc/commands/runs.h"
#include "run_options.h"

namespace nlpc::cli {

void register_runs(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "List, show, compare, delete and export runs; render HTML reports");
  runs->require_subcommand(0, 1);

  static runs::ListOptions list;
  auto* l = runs->add_subcommand("list", "List runs, newest first");
  add_runs_dir_option(l, list.runs_dir);
  l->add_option("--experiment", list.experiment, "Only runs of this experiment");
  l->add_option("--status", list.status, "Only runs with this status: RUNNING, FINISHED, FAILED or KILLED "
                                         "(repeatable, or comma-separated)")->delimiter(',');
  l->add_option("--format", list.format, "text or json")
      ->capture_default_str()
      ->transform(CLI::Transformer({{"table", "text"}}))  // its old name
      ->check(CLI::IsMember({"text", "json"}));
  on_run(l, [] { return torch_module().run_list(list); });

  static runs::ShowOptions show;
  auto* s = runs->add_subcommand("show", "Show a run: record, params, final metrics, artifacts");
  add_runs_dir_option(s, show.runs_dir);
  s->add_option("run_id", show.run_id, "Run id, or a unique prefix of one")->required();
  s->add_option("--format", show.format, "text or json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  on_run(s, [] { return torch_module().run_show(show); });

  static runs::CompareOptions compare;
  auto* c = runs->add_subcommand("compare", "Compare runs: params that differ, final and best metric values");
  add_runs_dir_option(c, compare.runs_dir);
  c->add_option("run_ids", compare.run_ids, "Two or more run ids (or unique prefixes)")->required()->expected(2, -1);
  c->add_option("--metric", compare.metrics, "Only this metric (repeatable)");
  c->add_option("--format", compare.format, "text or json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  c->footer("Best is the maximum, or the minimum for loss-like keys (a word loss, nll, error, err, wer, cer, "
            "perplexity, ppl, mse, mae or rmse in the key).");
  on_run(c, [] { return torch_module().run_compare(compare); });

  static runs::ExportMlflowOptions exp;
  auto* e = runs->add_subcommand("export-mlflow",
                                 "Write runs in MLflow's file-store layout (view with: mlflow ui --backend-store-uri DIR)");
  add_runs_dir_option(e, exp.runs_dir);
  e->add_option("--to", exp.to, "MLflow file store folder to write (created; exporting again updates it)")->required();
  e->add_option("--experiment", exp.experiment, "Only runs of this experiment");
  e->footer("MLflow 3.13 and later need MLFLOW_ALLOW_FILE_STORE=true to read a file store.");
  on_run(e, [] { return torch_module().run_export_mlflow(exp); });

  static runs::DeleteOptions del;
  auto* d = runs->add_subcommand("delete", "Delete runs: the given ones, or every run with a --status");
  add_runs_dir_option(d, del.runs_dir);
  d->add_option("run_ids", del.run_ids, "Run ids or unique prefixes");
  d->add_option("--status", del.status, "Every run with this status (repeatable, or comma-separated): RUNNING "
                                        "(only when its process is gone), FINISHED, FAILED or KILLED")->delimiter(',');
  d->add_option("--experiment", del.experiment, "With --status: only runs of this experiment");
  d->add_flag("--dry-run", del.dry_run, "Only print what would be deleted");
  on_run(d, [] { return torch_module().run_delete(del); });

  register_runs_report(runs);
}

}  // namespace nlpc::cli
