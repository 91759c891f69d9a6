#pragma once
// `nlpc serve`: a REST API and an HTML demo page over any nlpc model folders, several at once.
//
//   --model [NAME=]DIR (repeatable): a classifier (n-gram, BERT family; multi-label too), a T5
//   summarizer or a Whisper model; NAME defaults to the run's name or the folder name.
//   --asr-model [NAME=]DIR: a Whisper model in front of the classifiers (speech -> label, as
//   `nlpc predict --asr-model`); it also serves /v1/transcribe.
//
//   POST /v1/predict     {"texts": [...], "pairs"?: [...], "top_k"?: k, "all_probs"?: bool, "model"?: NAME},
//                        or {"rows": [{column: value}], ...} with the columns the classifier was trained
//                        on (its folder's "nlpc_columns": text columns joined with a newline, the pair
//                        column); with --asr-model also audio: multipart ("file", "model", "top_k",
//                        "language") or JSON {"audio": base64, ...}
//                        -> {"predictions": [{"label", "score", "top_k"?, "probabilities"? (only with
//                            "all_probs", as predict's --all-probs), "labels"? (multi-label),
//                            "transcript"? (audio)}], "model", "elapsed_ms"}
//   POST /v1/summarize   {"texts": [...], "model"?, "num_beams", "max_new_tokens", "min_length",
//                        "no_repeat_ngram_size", "length_penalty", "do_sample", "temperature", "top_k",
//                        "top_p", "seed"} (the options of `nlpc predict --task summarize`)
//                        -> {"summaries": [...], "model", "elapsed_ms"}
//   POST /v1/transcribe  multipart audio ("file", and the fields below) or JSON {"audio": base64, ...};
//                        "model", "language" (code, name or auto), "task" (transcribe|translate),
//                        "beam_size", "timestamps", "temperature", "prompt"
//                        -> {"text", "language", "duration", "segments": [{"start", "end", "text", ...}],
//                            "model", "elapsed_ms"}
//   POST /v1/audio/transcriptions, /v1/audio/translations  OpenAI's form: multipart "file", "model",
//                        "language", "prompt", "temperature", "response_format" (json | text | srt |
//                        vtt | verbose_json)
//   GET  /v1/models      every loaded model: {"object": "list", "data": [{"id", "object": "model",
//                        "owned_by": "nlpc", "kind", "model_type", "parameters", ...}]}
//   GET  /v1/model       the first classifier's (else the first model's) description
//   GET  /healthz        {"status": "ok"}
//   GET  /metrics        Prometheus text format
//   GET  /               the demo page (embedded, no network access needed): one tab per model;
//                        /?text=... classifies a text at once, /?model=NAME opens its tab
//
// Requests to one model go through its queue; a worker thread per model merges them into batches
// (classifier texts; summarizer texts with equal generation options; Whisper recordings, whose first
// windows share one encoder call) of up to max_batch items, waiting at most batch_wait_ms for more
// (see docs/serve.md). Errors are JSON: {"error": {"code", "message", "type"}}. SIGINT/SIGTERM stop
// accepting connections and let in-flight requests finish.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc {

struct ServeOptions {
  std::vector<std::string> models;   // [NAME=]DIR
  std::string asr_model;             // [NAME=]DIR of a Whisper model for speech -> label
  std::string asr_language;          // speech -> label: decoding language (default: the model's, else auto)
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device = "cpu";
  std::string precision = "auto";  // auto (as stored) | fp32 | int8 (nlpc/models/layers/int8.h)
  std::string name;                  // model name in responses when one model is served
  int max_batch = 0;                 // texts per model call; 0 = the model's default
  double batch_wait_ms = 2;          // how long the worker waits to fill a batch
  size_t max_body_bytes = 25 << 20;  // larger bodies get 413 (OpenAI's audio upload limit)
  int max_texts = 256;               // more texts per request get 413
  size_t max_text_bytes = 100000;    // a longer text gets 413
  double max_audio_seconds = 600;    // longer audio gets 413
  double timeout_ms = 60000;         // a request not answered by then gets 504
  int max_queue = 10000;             // items waiting per model; beyond it requests get 503
  int http_threads = 64;             // connection-handling threads
};

// Runs until SIGINT/SIGTERM; returns 0 after a graceful shutdown.
int run_serve(const ServeOptions& opts);

// The embedded demo page (src/serve/demo_page.cpp).
const char* demo_page_html();

}  // namespace nlpc
