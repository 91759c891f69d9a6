#pragma once
// The server's state shared by its route files (private to src/serve): the loaded models, each with
// its batcher, and the helpers every route uses (JSON errors, waiting for a job under --timeout-ms,
// reading uploaded audio).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/io/transcript.h"
#include "nlpc/serve/batcher.h"
#include "nlpc/serve/http.h"
#include "nlpc/serve/metrics.h"
#include "nlpc/serve/server.h"
#include "nlpc/tasks/asr/transcriber.h"
#include "nlpc/tasks/summarization/summarizer.h"
#include "nlpc/tasks/registry.h"

namespace nlpc::serve {

using nlohmann::json;

// A request that must be answered with a JSON error.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};

void send_json(httplib::Response& res, int status, const json& body);
// {"error": {"code", "message", "type"}} ("type" as OpenAI's API: invalid_request_error | server_error).
void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message);
// Answers `res` from the exception in flight: HttpError as is, InputError/UsageError 422, others 500.
void send_current_exception(httplib::Response& res);

// The body as a JSON object (400 otherwise).
json parse_json_object(const std::string& body);

// Waits for a submitted job's answer under --timeout-ms: 503 when the queue refused it, 504 (and the
// job cancelled) when the time is up.
template <class T>
T await(Batcher& batcher, const std::shared_ptr<ResultJob<T>>& job, double timeout_ms) {
  auto fut = job->result.get_future();
  if (!batcher.submit(job)) throw HttpError{503, "overloaded", "the server queue is full or shutting down; retry later"};
  if (fut.wait_for(std::chrono::microseconds(static_cast<int64_t>(timeout_ms * 1000))) != std::future_status::ready) {
    job->cancelled.store(true);
    throw HttpError{504, "timeout", "no answer within " + std::to_string(static_cast<int64_t>(timeout_ms)) +
                                        " ms (--timeout-ms)"};
  }
  return fut.get();
}

// The columns a classifier's "rows" items are read by (its folder's record, else "text").
struct RowColumns {
  std::vector<std::string> text;  // joined with a newline, as in training
  std::string pair;
};

// One loaded model folder.
struct ServedModel {
  std::string name, dir;
  std::string kind;  // classifier | summarizer | transcriber
  tasks::Pipeline pipe;
  std::unique_ptr<Batcher> batcher;
  RowColumns columns;             // classifier
  std::vector<float> thresholds;  // classifier (multi-label)
  json info;                      // its GET /v1/models entry
};

// Texts to summarize under one set of generation options (jobs merge when their options are equal).
struct SummarizeJob : ResultJob<std::vector<std::string>> {
  std::vector<std::string> texts;
  models::GenerationOptions generation;
  std::string key;  // the options, serialized
  size_t items() const override { return texts.size(); }
  std::string merge_key() const override { return key; }
};
// One summarize() call over the merged texts, in batches of `batch_size`.
BatchFn summarizer_batches(Summarizer& model, size_t batch_size);

// One recording to transcribe under per-request decoding options.
struct TranscribeJob : ResultJob<io::Transcript> {
  std::vector<float> samples;
  std::string name;
  TranscribeOptions how;
  size_t items() const override { return 1; }
};
BatchFn transcriber_batches(WhisperTranscriber& model);

// A field of a JSON body or multipart form, as text ("" when absent or null; JSON values other
// than strings are read from their JSON text: true, 3).
struct Fields {
  json values = json::object();
  std::string text(const std::string& k) const {
    if (!values.contains(k) || values[k].is_null()) return "";
    if (values[k].is_string()) return values[k].get<std::string>();
    return values[k].dump();
  }
  bool has(const std::string& k) const { return !text(k).empty(); }
  double number(const std::string& k, double lo, double hi) const {
    const std::string s = text(k);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end == s.c_str() || *end != '\0' || !(v >= lo && v <= hi))
      throw HttpError{400, "invalid_request",
                      "\"" + k + "\" must be a number in [" + fmt_number(lo) + ", " + fmt_number(hi) +
                          "], got " + (s.empty() ? "nothing" : s)};
    return v;
  }
  int64_t integer(const std::string& k, int64_t lo, int64_t hi) const {
    const double v = number(k, static_cast<double>(lo), static_cast<double>(hi));
    if (v != std::floor(v)) throw HttpError{400, "invalid_request", "\"" + k + "\" must be an integer"};
    return static_cast<int64_t>(v);
  }
  bool boolean(const std::string& k) const {
    const std::string s = text(k);
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    throw HttpError{400, "invalid_request", "\"" + k + "\" must be true or false"};
  }
  static std::string fmt_number(double v) {
    char b[32];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
      std::snprintf(b, sizeof b, "%.0f", v);
    } else {
      std::snprintf(b, sizeof b, "%g", v);
    }
    return b;
  }
};

// Audio of a request: a multipart "file" part, or base64 in a JSON body's "audio" field.
struct AudioUpload {
  std::string bytes;
  std::string filename = "upload";
};
// Mono 16 kHz samples of an upload; 422 naming the upload when the decoder refuses it, 413 when it
// is longer than --max-audio-seconds.
std::vector<float> decode_upload(const AudioUpload& a, const ServeOptions& o);
// Base64 text of a JSON field; 400 naming the field and offset of a bad character.
std::string decode_base64_field(const std::string& value, const std::string& field);
// A multipart upload: the "file" part is the audio (400 when there is none), every other part a
// field, returned as strings.
json read_multipart_audio(const httplib::Request& req, AudioUpload& audio);

class Service {
 public:
  explicit Service(const ServeOptions& o);
  ~Service();
  void install(httplib::Server& svr);
  void stop_batchers();
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }
  std::string describe() const;  // one line per model, for the start message

  const ServeOptions& options() const { return opts_; }
  Metrics& metrics() { return metrics_; }
  // The model a request names (404 when none of that name is loaded), else the first of `kind`
  // (404 when none). `name` may carry the ":speech" suffix of a speech pipeline entry.
  ServedModel& find(const std::string& name, const std::string& kind);
  // The Whisper model of --asr-model (null without one).
  ServedModel* asr() const { return asr_; }
  // Transcribes with `m` through its batcher under per-request decoding options.
  io::Transcript transcribe(ServedModel& m, std::vector<float> samples, const std::string& name,
                            const TranscribeOptions& how);

 private:
  void add_model(const std::string& spec, bool is_asr);
  json models_json() const;
  void install_classify(httplib::Server& svr);   // routes_classify.cpp
  void install_generate(httplib::Server& svr);   // routes_generate.cpp

  const ServeOptions& opts_;
  std::vector<std::unique_ptr<ServedModel>> models_;
  ServedModel* asr_ = nullptr;
  Metrics metrics_;
};

}  // namespace nlpc::serve
