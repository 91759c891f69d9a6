// `nlpc serve`: flags only; the work is in src/serve/server.cpp.
#include "commands.h"
#include "module.h"
#include "nlpc/serve/server.h"

namespace nlpc::cli {

void register_serve(CLI::App& app) {
  static ServeOptions o;
  auto* sub = app.add_subcommand("serve", "REST API and HTML demo page over trained models");
  sub->add_option("-m,--model", o.models,
                  "[NAME=]DIR: a model folder (classifier, T5 summarizer or Whisper); repeat it to serve several "
                  "(NAME defaults to the run's or the folder's name)");
  sub->add_option("--asr-model", o.asr_model,
                  "[NAME=]DIR: a Whisper folder in front of the classifiers: /v1/predict also takes audio "
                  "(speech -> transcript -> label), as predict --asr-model");
  hidden_alias(sub->add_option("--language,--asr-language", o.asr_language,
                               "With --asr-model: decoding language of /v1/predict audio (code, name or auto; default: "
                               "the Whisper model's generation_config.json language, else auto)"),
               "--asr-language");
  sub->add_option("--host", o.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", o.port, "Port (0 = any free port, printed at start)")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", o.precision,
                 "auto (as the model folder stores it), fp32, or int8: dynamic quantization of the "
                 "Transformer layers on the CPU (docs/int8.md)")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  sub->add_option("--name", o.name, "Model name in responses when one model is served (default: from the folder)");
  sub->add_option("--max-batch", o.max_batch, "Texts per model call when batching requests (0 = the model's default)")
      ->capture_default_str();
  sub->add_option("--batch-wait-ms", o.batch_wait_ms, "How long to wait for more requests to fill a batch")
      ->capture_default_str();
  sub->add_option("--max-body-bytes", o.max_body_bytes, "Larger request bodies get 413")->capture_default_str();
  sub->add_option("--max-texts", o.max_texts, "More texts per request get 413")->capture_default_str();
  sub->add_option("--max-text-bytes", o.max_text_bytes, "A longer text gets 413")->capture_default_str();
  sub->add_option("--max-audio-seconds", o.max_audio_seconds, "Longer audio gets 413")->capture_default_str();
  sub->add_option("--timeout-ms", o.timeout_ms, "Requests not answered by then get 504")->capture_default_str();
  sub->add_option("--max-queue", o.max_queue, "Texts (or recordings) waiting per model; beyond it requests get 503")
      ->capture_default_str();
  sub->add_option("--http-threads", o.http_threads, "Connection-handling threads")->capture_default_str();
  on_run(sub, [] { return torch_module().run_serve(o); });
}

}  // namespace nlpc::cli
