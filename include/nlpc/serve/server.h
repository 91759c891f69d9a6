#pragma once
// `nlpc serve`: a REST API and an HTML demo page over a text classifier.
//
//   POST /v1/predict  {"texts": [...], "pairs"?: [...], "top_k"?: k}, or {"rows": [{column: value}], ...}
//                     with the columns the model was trained on (its folder's "nlpc_columns": text
//                     columns joined with a newline, the pair column), as in training
//                     "all_probs"?: true
//                     -> {"predictions": [{"label", "score", "top_k"? (the k most probable),
//                         "probabilities"? ({label: p}, only with "all_probs": true, as predict's
//                         --all-probs), "labels"? (multi-label)}], "model", "elapsed_ms"}
//   GET  /v1/model    labels, architecture, tokenizer, parameters, multilabel, columns
//   GET  /healthz     {"status": "ok"}
//   GET  /metrics     Prometheus text format
//   GET  /            the demo page (embedded, no network access needed); /?text=... classifies a text at once
//
// Requests from all clients go through one queue; a worker thread merges them into batches of up
// to max_batch texts (waiting at most batch_wait_ms for more). Errors are JSON:
// {"error": {"code": "...", "message": "..."}}. SIGINT/SIGTERM stop accepting connections and let
// in-flight requests finish.
#include <cstddef>
#include <cstdint>
#include <string>

namespace nlpc {

struct ServeOptions {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device = "cpu";
  std::string name;                  // model name in responses (default: from the folder)
  int max_batch = 0;                 // texts per model call; 0 = the model's default batch size
  double batch_wait_ms = 2;          // how long the worker waits to fill a batch
  size_t max_body_bytes = 1 << 20;   // larger bodies get 413
  int max_texts = 256;               // more texts per request get 413
  size_t max_text_bytes = 100000;    // a longer text gets 413
  double timeout_ms = 10000;         // a request not answered by then gets 504
  int max_queue = 10000;             // texts waiting; beyond it requests get 503
  int http_threads = 64;             // connection-handling threads
};

// Runs until SIGINT/SIGTERM; returns 0 after a graceful shutdown.
int run_serve(const ServeOptions& opts);

// The embedded demo page (src/serve/demo_page.cpp).
const char* demo_page_html();

}  // namespace nlpc
