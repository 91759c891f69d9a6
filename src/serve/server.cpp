// `nlpc serve`: the loaded models, the common routes (models, health, metrics, demo page), errors and
// the shutdown loop. Text classification routes are in routes_classify.cpp, summarization and
// transcription in routes_generate.cpp, batching in batcher.cpp, metrics in metrics.cpp, the demo
// page in demo_page.cpp.
#include "nlpc/serve/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/signals.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/tasks/summarization/summarizer.h"
#include "service.h"

namespace nlpc {
namespace serve {
namespace {
using Clock = std::chrono::steady_clock;

std::string default_model_name(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path p = fs::weakly_canonical(fs::path(dir));
  if (p.filename().empty()) p = p.parent_path();
  // runs/<experiment>/<run_id>/artifacts/model -> the run's name (brave-otter-042), else its id
  if (p.filename() == "model" && p.parent_path().filename() == "artifacts") {
    const fs::path run = p.parent_path().parent_path();
    try {
      const json info = json::parse(read_file((run / "run.json").string()));
      if (info.value("run_name", std::string()) != "") return info["run_name"].get<std::string>();
    } catch (const std::exception&) {  // no readable run.json: the folder name
    }
    return run.filename().string();
  }
  return p.filename().string();
}

const char* error_type(int status) { return status >= 500 ? "server_error" : "invalid_request_error"; }

thread_local Clock::time_point t_request_start{};

// cpp-httplib 0.11 listens with a backlog of 5 and does not expose its socket: when many clients
// connect at once (wrk opens 64 connections), SYNs are dropped and those clients wait 1-3 s for a
// retry. Re-listening on the bound socket with a larger backlog fixes it (Linux updates it in place).
void widen_listen_backlog(int port) {
  for (int fd = 3; fd < 4096; ++fd) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int p = addr.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port)
            : addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                         : -1;
    if (p == port) ::listen(fd, 1024);
  }
}

void validate(const ServeOptions& o) {
  if (o.models.empty() && o.asr_model.empty()) throw UsageError("serve: give at least one --model DIR");
  if (o.port < 0 || o.port > 65535) throw UsageError("--port must be in 0..65535, got " + std::to_string(o.port));
  if (o.max_texts < 1) throw UsageError("--max-texts must be at least 1");
  if (o.max_batch < 0) throw UsageError("--max-batch must be >= 0 (0 = the model's default)");
  if (o.timeout_ms <= 0) throw UsageError("--timeout-ms must be positive");
  if (o.http_threads < 1) throw UsageError("--http-threads must be at least 1");
  if (o.batch_wait_ms < 0) throw UsageError("--batch-wait-ms must be >= 0");
  if (o.max_audio_seconds <= 0) throw UsageError("--max-audio-seconds must be positive");
  if (!o.name.empty() && o.models.size() > 1)
    throw UsageError("--name names the one model served; with several --model, write --model NAME=DIR");
}

RowColumns row_columns(const std::string& model_dir) {
  const auto rec = read_model_columns(model_dir);
  RowColumns c;
  const std::string text = model_column(rec, "text_column", "text");
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    c.text.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  c.pair = model_column(rec, "pair_column", "");
  return c;
}

int64_t parameters_of(const tasks::Pipeline& p) {
  if (p.classifier) return p.classifier->num_parameters();
  if (p.summarizer) return p.summarizer->num_parameters();
  return p.transcriber->num_parameters();
}

}  // namespace

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, json{{"error", {{"code", code}, {"message", message}, {"type", error_type(status)}}}});
}

void send_current_exception(httplib::Response& res) {
  try {
    throw;
  } catch (const HttpError& e) {
    send_error(res, e.status, e.code, e.message);
  } catch (const InputError& e) {  // the model refused this input (e.g. a text too long)
    send_error(res, 422, "invalid_input", e.what());
  } catch (const UsageError& e) {  // a bad option value
    send_error(res, 422, "invalid_input", e.what());
  } catch (const std::exception& e) {
    send_error(res, 500, "internal", e.what());
  }
}

json parse_json_object(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw HttpError{400, "invalid_json", std::string("the body is not valid JSON: ") + e.what()};
  }
  if (!j.is_object()) throw HttpError{400, "invalid_request", "the body must be a JSON object"};
  return j;
}

Service::Service(const ServeOptions& o) : opts_(o) {
  for (const auto& spec : o.models) add_model(spec, false);
  if (!o.asr_model.empty()) add_model(o.asr_model, true);
}

Service::~Service() { stop_batchers(); }

void Service::add_model(const std::string& spec, bool is_asr) {
  auto m = std::make_unique<ServedModel>();
  const size_t eq = spec.find('=');
  // NAME=DIR, unless the '=' is part of an existing folder's path
  if (eq != std::string::npos && eq > 0 && !file_exists(spec)) {
    m->name = spec.substr(0, eq);
    m->dir = spec.substr(eq + 1);
  } else {
    m->dir = spec;
  }
  if (m->name.empty()) m->name = !opts_.name.empty() && !is_asr ? opts_.name : default_model_name(m->dir);
  for (const auto& other : models_)
    if (other->name == m->name)
      throw UsageError("serve: two models are named \"" + m->name + "\"; name them with --model NAME=DIR");
  m->pipe = tasks::open_pipeline(m->dir, opts_.device, opts_.precision);
  const auto wait = std::chrono::microseconds(static_cast<int64_t>(opts_.batch_wait_ms * 1000));
  const size_t queue = static_cast<size_t>(opts_.max_queue);
  auto on_batch = [this](size_t n) { metrics_.record_batch(n); };
  json info{{"id", m->name}, {"object", "model"}, {"owned_by", "nlpc"}, {"model_type", m->pipe.model_type},
            {"parameters", parameters_of(m->pipe)}};
  if (m->pipe.classifier) {
    auto& clf = *m->pipe.classifier;
    m->kind = "classifier";
    m->thresholds = clf.thresholds();
    m->columns = row_columns(m->dir);
    const size_t batch = opts_.max_batch > 0 ? static_cast<size_t>(opts_.max_batch) : clf.default_batch_size();
    m->batcher = std::make_unique<Batcher>(clf, batch, wait, queue, on_batch);
    info.update({{"labels", clf.labels()},
                 {"multilabel", clf.multilabel()},
                 {"architecture", clf.architecture()},
                 {"tokenizer", clf.tokenizer_description()},
                 {"columns", {{"text", m->columns.text}, {"pair", m->columns.pair}}}});
  } else if (m->pipe.summarizer) {
    m->kind = "summarizer";
    const size_t batch = opts_.max_batch > 0 ? static_cast<size_t>(opts_.max_batch) : 16;
    m->batcher = std::make_unique<Batcher>(summarizer_batches(*m->pipe.summarizer, batch), batch, wait, queue, on_batch);
    const auto& g = m->pipe.summarizer->generation();
    info["generation"] = {{"num_beams", g.num_beams},
                          {"max_new_tokens", g.max_new_tokens >= 0 ? g.max_new_tokens : g.max_length - 1},
                          {"no_repeat_ngram_size", g.no_repeat_ngram_size},
                          {"length_penalty", g.length_penalty}};
    info["max_length"] = m->pipe.summarizer->max_length();
  } else {
    m->kind = "transcriber";
    // Concurrent recordings share one encoder call for their first 30 s window; decoding is per
    // recording (each window starts where the previous one's text ended).
    const size_t batch = opts_.max_batch > 0 ? static_cast<size_t>(opts_.max_batch) : 8;
    m->batcher = std::make_unique<Batcher>(transcriber_batches(*m->pipe.transcriber), batch, wait, queue, on_batch);
    info["multilingual"] = m->pipe.transcriber->multilingual();
    info["languages"] = m->pipe.transcriber->languages();
  }
  if (is_asr && m->kind != "transcriber")
    throw UsageError("--asr-model " + m->dir + " is a " + m->kind + " (" + m->pipe.model_type +
                     "), not a Whisper model");
  info["kind"] = m->kind;
  m->info = std::move(info);
  models_.push_back(std::move(m));
  if (is_asr) asr_ = models_.back().get();
}

void Service::stop_batchers() {
  for (auto& m : models_)
    if (m->batcher) m->batcher->stop();
}

std::string Service::describe() const {
  std::string s;
  for (const auto& m : models_)
    s += "  " + m->name + ": " + m->kind + " (" + m->pipe.model_type + ") from " + m->dir +
         (m.get() == asr_ ? ", in front of the classifiers" : "") + "\n";
  return s;
}

ServedModel& Service::find(const std::string& name, const std::string& kind) {
  std::string base = name;
  const std::string speech = ":speech";
  if (base.size() > speech.size() && base.compare(base.size() - speech.size(), speech.size(), speech) == 0)
    base.resize(base.size() - speech.size());
  std::string names;
  for (auto& m : models_) {
    if (!base.empty() && m->name == base) {
      if (m->kind != kind)
        throw HttpError{400, "wrong_model_kind", "model \"" + base + "\" is a " + m->kind + ", this endpoint needs a " + kind};
      return *m;
    }
    names += (names.empty() ? "" : ", ") + m->name + " (" + m->kind + ")";
  }
  if (base.empty())
    for (auto& m : models_)
      if (m->kind == kind) return *m;
  if (base.empty()) throw HttpError{404, "model_not_found", "no " + kind + " is loaded; loaded: " + names};
  throw HttpError{404, "model_not_found", "no model named \"" + base + "\"; loaded: " + names};
}

json Service::models_json() const {
  json data = json::array();
  for (const auto& m : models_) data.push_back(m->info);
  if (asr_ != nullptr) {  // the speech pipelines: Whisper in front of each classifier
    for (const auto& m : models_) {
      if (m->kind != "classifier") continue;
      json p = m->info;
      p["id"] = m->name + ":speech";
      p["kind"] = "speech_classifier";
      p["asr_model"] = asr_->name;
      data.push_back(std::move(p));
    }
  }
  return json{{"object", "list"}, {"data", std::move(data)}};
}

void Service::install(httplib::Server& svr) {
  svr.set_payload_max_length(opts_.max_body_bytes);
  // httplib closes a connection after 5 requests by default, and its listen backlog is small: under
  // load, clients reconnecting then wait for SYN retries (1 s). Keep connections open instead.
  svr.set_keep_alive_max_count(100000);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms.
  svr.set_tcp_nodelay(true);
  svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double secs = 0;
    if (t_request_start != Clock::time_point{})
      secs = std::chrono::duration<double>(Clock::now() - t_request_start).count();
    t_request_start = Clock::time_point{};
    metrics_.record_request(Metrics::endpoint_label(req.path), res.status, secs);
  });
  // Errors raised by httplib itself (404, 405, 413, ...) get a JSON body like ours.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string code = res.status == 404   ? "not_found"
                       : res.status == 413 ? "body_too_large"
                       : res.status == 400 ? "invalid_request"
                                           : "http_error";
    std::string msg = res.status == 404 ? "no such endpoint; see GET / , GET /v1/models, POST /v1/predict, "
                                          "POST /v1/summarize, POST /v1/transcribe, POST /v1/audio/transcriptions, "
                                          "GET /healthz, GET /metrics"
                                        : "HTTP error " + std::to_string(res.status);
    if (res.status == 413) msg = "the body exceeds " + std::to_string(opts_.max_body_bytes) + " bytes (--max-body-bytes)";
    if (res.status == 400) msg = "the request could not be parsed (malformed HTTP headers, multipart body or encoding)";
    send_error(res, res.status, code, msg);
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (...) {
      send_current_exception(res);
    }
  });
  svr.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, models_json()); });
  svr.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    const ServedModel* m = models_.front().get();
    for (const auto& x : models_)
      if (x->kind == "classifier") {
        m = x.get();
        break;
      }
    json info = m->info;
    info["model"] = m->name;
    info["max_texts"] = opts_.max_texts;
    info["max_body_bytes"] = opts_.max_body_bytes;
    send_json(res, 200, info);
  });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, json{{"status", "ok"}});
  });
  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    size_t queued = 0;
    for (const auto& m : models_) queued += m->batcher->queued_texts();
    res.set_content(metrics_.render(queued), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(demo_page_html(), "text/html; charset=utf-8");
  });
  install_classify(svr);
  install_generate(svr);
}

}  // namespace serve

int run_serve(const ServeOptions& opts) {
  serve::validate(opts);
  serve::Service service(opts);
  httplib::Server svr;
  const size_t threads = static_cast<size_t>(opts.http_threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  service.install(svr);
  int port = opts.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opts.host);
    if (port < 0) throw RuntimeError("cannot listen on " + opts.host + " (any port)");
  } else if (!svr.bind_to_port(opts.host, port)) {
    throw RuntimeError("cannot listen on " + opts.host + ":" + std::to_string(port) +
                       " (in use, or a bad address?); choose another --port");
  }
  serve::widen_listen_backlog(port);
  std::printf("nlpc serve: %zu model%s on http://%s:%d/\n%s", service.models().size(),
              service.models().size() == 1 ? "" : "s", opts.host.c_str(), port, service.describe().c_str());
  std::fflush(stdout);
  std::atomic<bool> done{false};
  std::thread listener([&] {
    svr.listen_after_bind();
    done.store(true);
  });
  // Poll nlpc's signal flag; stop() closes the listening socket, then listen returns once the
  // in-flight requests are answered. Retried in case the signal came before listen started.
  while (!done.load()) {
    if (interrupted() != 0) svr.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  listener.join();
  service.stop_batchers();
  if (interrupted() == 0) throw RuntimeError("the HTTP server on " + opts.host + ":" + std::to_string(port) + " stopped unexpectedly");
  std::fprintf(stderr, "nlpc serve: stopped\n");
  return 0;
}

}  // namespace nlpc
