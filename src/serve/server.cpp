// `nlpc serve`: HTTP routes, request validation and the shutdown loop. Batching is in batcher.cpp,
// metrics in metrics.cpp, the demo page in demo_page.cpp.
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

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/signals.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/serve/batcher.h"
#include "nlpc/serve/http.h"
#include "nlpc/serve/metrics.h"

namespace nlpc {
namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A request that must be answered with a JSON error.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

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

struct PredictRequest {
  std::vector<std::string> texts;
  std::vector<std::string> pairs;
  int top_k = 0;
  bool all_probs = false;  // "all_probs": true adds every label's probability (as predict --all-probs)
};

std::vector<std::string> string_array(const json& body, const char* key, const ServeOptions& o) {
  const json& a = body.at(key);
  if (!a.is_array())
    throw HttpError{400, "invalid_request", std::string("\"") + key + "\" must be an array of strings"};
  if (a.size() > static_cast<size_t>(o.max_texts))
    throw HttpError{413, "too_many_texts", std::string("\"") + key + "\" has " + std::to_string(a.size()) +
                                               " items; at most " + std::to_string(o.max_texts) +
                                               " per request (split it, or raise --max-texts)"};
  std::vector<std::string> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string())
      throw HttpError{400, "invalid_request", std::string("\"") + key + "\"[" + std::to_string(i) +
                                                  "] must be a string, got " + a[i].type_name()};
    out.push_back(a[i].get<std::string>());
    if (out.back().size() > o.max_text_bytes)
      throw HttpError{413, "text_too_long", std::string("\"") + key + "\"[" + std::to_string(i) + "] has " +
                                                std::to_string(out.back().size()) + " bytes; at most " +
                                                std::to_string(o.max_text_bytes)};
  }
  return out;
}

// The columns a "rows" item is read by: the model folder's record (data/model_columns.h), else "text".
struct RowColumns {
  std::vector<std::string> text;  // joined with a newline, as in training
  std::string pair;
};

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

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "rows": [{column: value, ...}] -> texts (and pairs) the way training read them.
void parse_rows(const json& body, const ServeOptions& o, const RowColumns& cols, PredictRequest& r) {
  const json& a = body.at("rows");
  if (!a.is_array()) throw HttpError{400, "invalid_request", "\"rows\" must be an array of objects"};
  if (a.size() > static_cast<size_t>(o.max_texts))
    throw HttpError{413, "too_many_texts", "\"rows\" has " + std::to_string(a.size()) + " items; at most " +
                                               std::to_string(o.max_texts) + " per request"};
  auto cell = [&](size_t i, const std::string& col) {
    const json& row = a[i];
    if (!row.is_object()) throw HttpError{400, "invalid_request", "\"rows\"[" + std::to_string(i) + "] must be an object"};
    if (!row.contains(col) || !row[col].is_string())
      throw HttpError{422, "missing_column", "\"rows\"[" + std::to_string(i) + "] needs a string \"" + col +
                                                 "\" (the model reads " + joined(cols.text) +
                                                 (cols.pair.empty() ? "" : " and " + cols.pair) + ")"};
    return row[col].get<std::string>();
  };
  for (size_t i = 0; i < a.size(); ++i) {
    std::string text;
    for (size_t c = 0; c < cols.text.size(); ++c) text += (c ? "\n" : "") + cell(i, cols.text[c]);
    if (text.size() > o.max_text_bytes)
      throw HttpError{413, "text_too_long", "\"rows\"[" + std::to_string(i) + "] has " + std::to_string(text.size()) +
                                                " bytes of text; at most " + std::to_string(o.max_text_bytes)};
    r.texts.push_back(std::move(text));
    if (!cols.pair.empty()) r.pairs.push_back(cell(i, cols.pair));
  }
}

PredictRequest parse_predict(const std::string& body_text, const ServeOptions& o, size_t num_labels,
                             const RowColumns& cols) {
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::parse_error& e) {
    throw HttpError{400, "invalid_json", std::string("the body is not valid JSON: ") + e.what()};
  }
  if (!body.is_object()) throw HttpError{400, "invalid_request", "the body must be a JSON object with \"texts\""};
  for (const auto& item : body.items()) {
    const std::string& k = item.key();
    if (k != "texts" && k != "pairs" && k != "rows" && k != "top_k" && k != "all_probs")
      throw HttpError{400, "invalid_request", "unknown field \"" + k +
                                                  "\"; expected \"texts\", \"pairs\", \"rows\", \"top_k\" or "
                                                  "\"all_probs\""};
  }
  PredictRequest r;
  if (body.contains("rows")) {
    if (body.contains("texts") || body.contains("pairs"))
      throw HttpError{400, "invalid_request", "send either \"rows\" or \"texts\" (with \"pairs\"), not both"};
    parse_rows(body, o, cols, r);
    if (r.texts.empty()) throw HttpError{422, "empty_texts", "\"rows\" is empty; send at least one row"};
  } else if (!body.contains("texts")) {
    throw HttpError{400, "invalid_request", "missing field \"texts\" (array of strings) or \"rows\" (array of objects)"};
  } else {
    r.texts = string_array(body, "texts", o);
  }
  if (r.texts.empty()) throw HttpError{422, "empty_texts", "\"texts\" is empty; send at least one text"};
  if (!body.contains("rows") && body.contains("pairs") && !body["pairs"].is_null()) {
    r.pairs = string_array(body, "pairs", o);
    if (r.pairs.size() != r.texts.size())
      throw HttpError{422, "pairs_mismatch", "\"pairs\" has " + std::to_string(r.pairs.size()) +
                                                 " items but \"texts\" has " + std::to_string(r.texts.size())};
  }
  if (body.contains("all_probs") && !body["all_probs"].is_null()) {
    if (!body["all_probs"].is_boolean()) throw HttpError{400, "invalid_request", "\"all_probs\" must be true or false"};
    r.all_probs = body["all_probs"].get<bool>();
  }
  if (body.contains("top_k") && !body["top_k"].is_null()) {
    const json& k = body["top_k"];
    if (!k.is_number_integer() || k.get<int64_t>() < 1)
      throw HttpError{400, "invalid_request", "\"top_k\" must be a positive integer"};
    r.top_k = static_cast<int>(std::min<int64_t>(k.get<int64_t>(), static_cast<int64_t>(num_labels)));
  }
  return r;
}

json prediction_json(const TextClassifier& model, const std::vector<float>& thresholds, const float* p, int top_k,
                     bool all_probs) {
  const auto& labels = model.labels();
  const size_t k = labels.size();
  std::vector<size_t> order(k);
  for (size_t i = 0; i < k; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  json out{{"label", labels[order[0]]}, {"score", p[order[0]]}};
  if (all_probs) {
    json probs = json::object();
    for (size_t i = 0; i < k; ++i) probs[labels[i]] = p[i];
    out["probabilities"] = probs;
  }
  if (model.multilabel()) {
    json chosen = json::array();
    for (size_t i : order)
      if (p[i] >= (i < thresholds.size() ? thresholds[i] : 0.5f)) chosen.push_back(labels[i]);
    out["labels"] = chosen;
  }
  if (top_k > 0) {
    json top = json::array();
    for (int i = 0; i < top_k; ++i) top.push_back({{"label", labels[order[i]]}, {"score", p[order[i]]}});
    out["top_k"] = top;
  }
  return out;
}

class Service {
 public:
  Service(const ServeOptions& o, TextClassifier& model)
      : opts_(o),
        model_(model),
        thresholds_(model.thresholds()),
        name_(o.name.empty() ? default_model_name(o.model) : o.name),
        columns_(row_columns(o.model)),
        batcher_(model, o.max_batch > 0 ? static_cast<size_t>(o.max_batch) : model.default_batch_size(),
                 std::chrono::microseconds(static_cast<int64_t>(o.batch_wait_ms * 1000)),
                 static_cast<size_t>(o.max_queue), [this](size_t n) { metrics_.record_batch(n); }) {}

  void install(httplib::Server& svr);
  void stop_batcher() { batcher_.stop(); }

 private:
  void predict(const httplib::Request& req, httplib::Response& res);
  json model_info() const;

  const ServeOptions& opts_;
  TextClassifier& model_;
  std::vector<float> thresholds_;
  std::string name_;
  RowColumns columns_;
  serve::Metrics metrics_;
  serve::Batcher batcher_;
};

thread_local Clock::time_point t_request_start{};

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
    metrics_.record_request(serve::Metrics::endpoint_label(req.path), res.status, secs);
  });
  // Errors raised by httplib itself (404, 405, 413, ...) get a JSON body like ours.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string code = res.status == 404 ? "not_found" : res.status == 413 ? "body_too_large" : "http_error";
    std::string msg = res.status == 404 ? "no such endpoint; see GET / , POST /v1/predict, GET /v1/model, "
                                          "GET /healthz, GET /metrics"
                                        : "HTTP error " + std::to_string(res.status);
    if (res.status == 413) msg = "the body exceeds " + std::to_string(opts_.max_body_bytes) + " bytes (--max-body-bytes)";
    send_error(res, res.status, code, msg);
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, "internal", what);
  });
  svr.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) { predict(req, res); });
  svr.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, model_info()); });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, json{{"status", "ok"}});
  });
  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(batcher_.queued_texts()), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(demo_page_html(), "text/html; charset=utf-8");
  });
}

json Service::model_info() const {
  return json{{"model", name_},
              {"labels", model_.labels()},
              {"architecture", model_.architecture()},
              {"tokenizer", model_.tokenizer_description()},
              {"parameters", model_.num_parameters()},
              {"multilabel", model_.multilabel()},
              {"columns", {{"text", columns_.text}, {"pair", columns_.pair}}},
              {"max_texts", opts_.max_texts},
              {"max_body_bytes", opts_.max_body_bytes}};
}

void Service::predict(const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  try {
    PredictRequest r = parse_predict(req.body, opts_, model_.labels().size(), columns_);
    auto job = std::make_shared<serve::BatchJob>();
    job->texts = std::move(r.texts);
    job->pairs = std::move(r.pairs);
    auto fut = job->result.get_future();
    if (!batcher_.submit(job))
      throw HttpError{503, "overloaded", "the server queue is full or shutting down; retry later"};
    if (fut.wait_for(std::chrono::microseconds(static_cast<int64_t>(opts_.timeout_ms * 1000))) !=
        std::future_status::ready) {
      job->cancelled.store(true);
      throw HttpError{504, "timeout", "no answer within " + std::to_string(static_cast<int64_t>(opts_.timeout_ms)) +
                                          " ms (--timeout-ms)"};
    }
    eval::Matrix probs = fut.get();
    json preds = json::array();
    for (int64_t i = 0; i < probs.rows; ++i) preds.push_back(prediction_json(model_, thresholds_, probs.row(i), r.top_k, r.all_probs));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    send_json(res, 200, json{{"predictions", std::move(preds)}, {"model", name_}, {"elapsed_ms", ms}});
  } catch (const HttpError& e) {
    send_error(res, e.status, e.code, e.message);
  } catch (const InputError& e) {  // the model refused these texts (e.g. too long)
    send_error(res, 422, "invalid_input", e.what());
  } catch (const UsageError& e) {
    send_error(res, 422, "invalid_input", e.what());
  } catch (const std::exception& e) {
    send_error(res, 500, "internal", e.what());
  }
}

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
  if (o.port < 0 || o.port > 65535) throw UsageError("--port must be in 0..65535, got " + std::to_string(o.port));
  if (o.max_texts < 1) throw UsageError("--max-texts must be at least 1");
  if (o.max_batch < 0) throw UsageError("--max-batch must be >= 0 (0 = the model's default)");
  if (o.timeout_ms <= 0) throw UsageError("--timeout-ms must be positive");
  if (o.http_threads < 1) throw UsageError("--http-threads must be at least 1");
  if (o.batch_wait_ms < 0) throw UsageError("--batch-wait-ms must be >= 0");
}

}  // namespace

int run_serve(const ServeOptions& opts) {
  validate(opts);
  auto model = load_text_classifier(opts.model, opts.device);
  Service service(opts, *model);
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
  widen_listen_backlog(port);
  std::printf("nlpc serve: %s (%s, %zu labels) on http://%s:%d/\n", opts.model.c_str(), model->architecture().c_str(),
              model->labels().size(), opts.host.c_str(), port);
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
  service.stop_batcher();
  if (interrupted() == 0) throw RuntimeError("the HTTP server on " + opts.host + ":" + std::to_string(port) + " stopped unexpectedly");
  std::fprintf(stderr, "nlpc serve: stopped\n");
  return 0;
}

}  // namespace nlpc
