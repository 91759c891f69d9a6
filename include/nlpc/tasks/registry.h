#pragma once
// The explicit list of tasks (no self-registering statics). One row per task: the config "task"
// values it trains and the functions that train, score, predict and open a model folder. The
// commands (src/commands/) never branch on a task name: they look the task up here. Which task a
// model folder belongs to is the models registry's row for its model_type (models/registry.h).
// Torch-free.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/tasks/options.h"

namespace nlpc {

struct TrainConfig;
class TextClassifier;
class Summarizer;
class WhisperTranscriber;
namespace runs {
class Run;
}

namespace tasks {

// A model folder opened for inference: exactly one facade is set, the one of its task.
struct Pipeline {
  Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();
  std::string dir, model_type, task;
  std::unique_ptr<TextClassifier> classifier;       // classification (also multi-label)
  std::unique_ptr<Summarizer> summarizer;           // summarize
  std::unique_ptr<WhisperTranscriber> transcriber;  // asr
};

struct Task {
  std::string name;                       // --task value, models registry's `task`
  std::vector<std::string> config_tasks;  // values of the training config's "task" that it trains
  std::string run_tag;                    // "nlpc.task" tag of its eval runs ("" = none)
  bool baseline_gate = false;             // eval --baseline/--max-drop supported
  bool speech_input = false;              // predict --asr-model supported (transcripts as input texts)
  // nlpc train: trains into `run` (artifacts/model), scores the saved model; returns the exit code.
  int (*train)(const TrainConfig& cfg, runs::Run& run, bool resume) = nullptr;
  // nlpc eval: scores opts.model on opts.data, logs test/<metric> and artifacts into `run`, prints
  // the table; returns the aggregate metrics the gates see.
  std::map<std::string, double> (*evaluate)(const EvalCommandOptions& opts, runs::Run& run) = nullptr;
  // nlpc predict (null: the task has no batch prediction).
  PredictStats (*predict)(const PredictOptions& opts) = nullptr;
  // Loads the task's facade for a model folder into `p`.
  // precision: "auto" (as stored), "fp32" or "int8" (nlpc/models/layers/int8.h).
  void (*open)(Pipeline& p, const std::string& device, const std::string& precision) = nullptr;
};

// Every task, in a fixed order (classification, summarize, asr).
const std::vector<Task>& all_tasks();
// The task named `name`; a UsageError naming `what` and listing the tasks otherwise.
const Task& find_task(const std::string& name, const std::string& what = "--task");
// The task that trains the config's `task` value ("multilabel" is trained by classification).
const Task& task_for_config(const std::string& config_task, const std::string& source);
// Names of the tasks that have an eval (or, with_predict, a predict) function.
std::vector<std::string> task_names(bool with_predict = false);

// Opens any nlpc model folder (config.json model_type -> models registry row -> its task's facade).
// InputError naming the folder when it is not a model folder or its model_type is unknown.
Pipeline open_pipeline(const std::string& dir, const std::string& device = "cpu",
                       const std::string& precision = "auto");

}  // namespace tasks
}  // namespace nlpc
