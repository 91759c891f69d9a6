// `nlpc serve`: flags only; the work is in src/serve/server.cpp.
#include "commands.h"
#include "module.h"
#include "nlpc/serve/server.h"

namespace nlpc::cli {

void register_serve(CLI::App& app) {
  static ServeOptions o;
  auto* sub = app.add_subcommand("serve", "REST API and HTML demo page over a trained model");
  sub->add_option("-m,--model", o.model, "Model folder")->required();
  sub->add_option("--host", o.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", o.port, "Port (0 = any free port, printed at start)")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--name", o.name, "Model name in responses (default: from the folder)");
  sub->add_option("--max-batch", o.max_batch, "Texts per model call when batching requests (0 = the model's default)")
      ->capture_default_str();
  sub->add_option("--batch-wait-ms", o.batch_wait_ms, "How long to wait for more requests to fill a batch")
      ->capture_default_str();
  sub->add_option("--max-body-bytes", o.max_body_bytes, "Larger request bodies get 413")->capture_default_str();
  sub->add_option("--max-texts", o.max_texts, "More texts per request get 413")->capture_default_str();
  sub->add_option("--max-text-bytes", o.max_text_bytes, "A longer text gets 413")->capture_default_str();
  sub->add_option("--timeout-ms", o.timeout_ms, "Requests not answered by then get 504")->capture_default_str();
  sub->add_option("--max-queue", o.max_queue, "Texts waiting for the model; beyond it requests get 503")
      ->capture_default_str();
  sub->add_option("--http-threads", o.http_threads, "Connection-handling threads")->capture_default_str();
  on_run(sub, [] { return torch_module().run_serve(o); });
}

}  // namespace nlpc::cli
