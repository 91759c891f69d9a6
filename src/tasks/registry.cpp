// The task registry: one row per task (see include/nlpc/tasks/registry.h). Adding a task is a new
// folder under src/tasks/ plus one row here.
#include "nlpc/tasks/registry.h"

#include "nlpc/core/error.h"
#include "nlpc/models/registry.h"
#include "nlpc/tasks/asr/asr.h"
#include "nlpc/tasks/asr/transcriber.h"
#include "nlpc/tasks/classification/classification.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/tasks/summarization/summarize.h"
#include "nlpc/tasks/summarization/summarizer.h"

namespace nlpc::tasks {
namespace {
void open_classifier(Pipeline& p, const std::string& device, const std::string& precision) {
  p.classifier = load_text_classifier(p.dir, device, precision);
}
void open_summarizer(Pipeline& p, const std::string& device, const std::string& precision) {
  p.summarizer = std::make_unique<Summarizer>(p.dir, device, precision);
}
void open_transcriber(Pipeline& p, const std::string& device, const std::string& precision) {
  TranscribeOptions o;
  o.model = p.dir;
  o.device = device;
  o.precision = precision;
  p.transcriber = std::make_unique<WhisperTranscriber>(o);
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

Pipeline::Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

const std::vector<Task>& all_tasks() {
  // name, config tasks, eval run tag, baseline gate, speech input, train, evaluate, predict, open
  static const std::vector<Task> list = {
      {"classification", {"classification", "multilabel"}, "", true, true, &train_classification,
       &evaluate_classification, &predict_classification, &open_classifier},
      {"summarize", {"summarize"}, "summarize", false, false, &train_summarization, &evaluate_summarization,
       &predict_summarization, &open_summarizer},
      {"asr", {"asr"}, "", true, false, &train_asr, &evaluate_asr, nullptr, &open_transcriber},
  };
  return list;
}

std::vector<std::string> task_names(bool with_predict) {
  std::vector<std::string> out;
  for (const auto& t : all_tasks()) {
    if (t.evaluate != nullptr && (!with_predict || t.predict != nullptr)) out.push_back(t.name);
  }
  return out;
}

const Task& find_task(const std::string& name, const std::string& what) {
  for (const auto& t : all_tasks()) {
    if (t.name == name) return t;
  }
  throw UsageError(what + ": expected " + joined(task_names()) + ", got '" + name + "'");
}

const Task& task_for_config(const std::string& config_task, const std::string& source) {
  std::vector<std::string> known;
  for (const auto& t : all_tasks()) {
    for (const auto& c : t.config_tasks) {
      if (c == config_task) return t;
      known.push_back(c);
    }
  }
  throw UsageError(source + ": task '" + config_task + "' is not supported by nlpc train (supported: " +
                   joined(known) + ")");
}

Pipeline open_pipeline(const std::string& dir, const std::string& device, const std::string& precision) {
  const nlohmann::json config = models::read_model_config(dir);
  Pipeline p;
  p.dir = dir;
  p.model_type = config.value("model_type", "");
  if (p.model_type.empty()) throw InputError(dir + "/config.json", 0, 0, "missing \"model_type\"");
  p.task = models::find_model_family(p.model_type, dir + "/config.json").task;
  find_task(p.task, dir).open(p, device, precision);
  return p;
}

}  // namespace nlpc::tasks
