// End-to-end: `nlpc serve` started in the background on a loopback port, exercised with
// httplib::Client; `nlpc bench` JSON keys.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "serve_process.h"
#include "nlpc/serve/http.h"

extern char** environ;

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;
using Clock = std::chrono::steady_clock;

namespace {

std::string served_model() { return nlpc::test::trained_baseline_model(); }

// `nlpc serve --model <the trained baseline> <extra>`.
class ServerProcess : public nlpc::test::ServeProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& extra = {}) : ServeProcess(with_model(extra)) {}

 private:
  static std::vector<std::string> with_model(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--model", served_model()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

ServerProcess& shared_server() {
  static ServerProcess server({"--max-body-bytes", "4096", "--max-texts", "16"});
  return server;
}

json post(httplib::Client& c, const std::string& body, int expected_status) {
  auto r = c.Post("/v1/predict", body, "application/json");
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == expected_status);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  return json::parse(r->body);
}

void check_error(const json& j, const std::string& code) {
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["message"].is_string());
  CHECK(!j["error"]["message"].get<std::string>().empty());
}

const std::vector<std::string> kTexts = {
    "The striker scored twice and the team won the league title.",
    "Shares fell after the bank raised interest rates again.",
    "A new telescope observed a distant galaxy."};

}  // namespace

TEST_CASE("serve: healthz, model and the demo page", "[serve]") {
  auto c = shared_server().client();
  auto h = c.Get("/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(json::parse(h->body) == json{{"status", "ok"}});

  auto m = c.Get("/v1/model");
  REQUIRE(m);
  REQUIRE(m->status == 200);
  json info = json::parse(m->body);
  CHECK(info["architecture"] == "nlpc-ngram");
  CHECK(info["labels"].is_array());
  CHECK(info["labels"].size() >= 2);
  CHECK(info["multilabel"] == false);
  CHECK(info["parameters"].get<int64_t>() > 0);
  CHECK(info.contains("tokenizer"));

  auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page->body.find("<textarea") != std::string::npos);
  CHECK(page->body.find("/v1/predict") != std::string::npos);
  // No external assets: nothing is loaded from another origin.
  CHECK(page->body.find("src=\"http") == std::string::npos);
  CHECK(page->body.find("href=\"http") == std::string::npos);

  auto missing = c.Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  check_error(json::parse(missing->body), "not_found");
}

TEST_CASE("serve: /v1/predict matches nlpc predict", "[serve]") {
  auto c = shared_server().client();
  json req{{"texts", kTexts}, {"top_k", 2}, {"all_probs", true}};
  json res = post(c, req.dump(), 200);
  REQUIRE(res["predictions"].size() == kTexts.size());
  CHECK(res["model"].is_string());
  CHECK(res["elapsed_ms"].get<double>() >= 0);

  // Same texts through `nlpc predict --all-probs` (JSONL) must give the same labels and probabilities.
  TempDir d;
  std::string in;
  for (const auto& t : kTexts) in += json{{"text", t}}.dump() + "\n";
  write_file(d.file("in.jsonl"), in);
  auto r = run_nlpc("--threads 1 predict -m " + served_model() + " -i " + d.file("in.jsonl") + " -o " +
                    d.file("out.jsonl") + " --all-probs");
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(read_file(d.file("out.jsonl")));
  std::string line;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    REQUIRE(std::getline(lines, line));
    json want = json::parse(line);
    const json& got = res["predictions"][i];
    CHECK(got["label"] == want["label"]);
    CHECK(got["score"].get<double>() == Approx(want["score"].get<double>()).margin(1e-5));
    REQUIRE(got["probabilities"].size() == want["probabilities"].size());
    double sum = 0;
    for (const auto& [label, p] : want["probabilities"].items()) {
      CHECK(got["probabilities"][label].get<double>() == Approx(p.get<double>()).margin(1e-5));
      sum += got["probabilities"][label].get<double>();
    }
    CHECK(sum == Approx(1.0).margin(1e-4));
    REQUIRE(got["top_k"].size() == 2);
    CHECK(got["top_k"][0]["label"] == got["label"]);
    CHECK(got["top_k"][0]["score"].get<double>() >= got["top_k"][1]["score"].get<double>());
  }
}

TEST_CASE("serve: probabilities only when asked, rows by the model's columns, the run's name", "[serve][columns]") {
  auto c = shared_server().client();
  json plain = post(c, json{{"texts", kTexts}}.dump(), 200);
  CHECK_FALSE(plain["predictions"][0].contains("probabilities"));  // like predict without --all-probs
  CHECK_FALSE(plain["predictions"][0].contains("top_k"));
  // {"rows": [...]}: the columns the model was trained on (its config.json "nlpc_columns": text)
  json rows = json::array();
  for (const auto& t : kTexts) rows.push_back({{"text", t}, {"id", "x"}});
  json by_rows = post(c, json{{"rows", rows}}.dump(), 200);
  for (size_t i = 0; i < kTexts.size(); ++i) {
    CHECK(by_rows["predictions"][i]["label"] == plain["predictions"][i]["label"]);
    CHECK(by_rows["predictions"][i]["score"] == plain["predictions"][i]["score"]);
  }
  check_error(post(c, R"({"rows": [{"body": "no text column"}]})", 422), "missing_column");
  check_error(post(c, R"({"rows": [{"text": "a"}], "texts": ["a"]})", 400), "invalid_request");
  check_error(post(c, R"({"texts": ["a"], "all_probs": "yes"})", 400), "invalid_request");
  auto info = c.Get("/v1/model");
  REQUIRE(info);
  json model = json::parse(info->body);
  CHECK(model["columns"]["text"] == json::array({"text"}));
  // the model folder of a run is named after the run (run.json's run_name), not its id hash
  const std::string run_json = served_model() + "/../../run.json";
  CHECK(model["model"] == json::parse(read_file(run_json))["run_name"]);
}

TEST_CASE("serve: malformed and oversized requests get JSON errors", "[serve]") {
  auto c = shared_server().client();
  check_error(post(c, "{\"texts\": [\"a\"", 400), "invalid_json");
  check_error(post(c, "not json at all", 400), "invalid_json");
  check_error(post(c, "{\"texts\": \"a single string\"}", 400), "invalid_request");
  check_error(post(c, "{\"texts\": [1, 2]}", 400), "invalid_request");
  check_error(post(c, "{\"text\": [\"a\"]}", 400), "invalid_request");
  check_error(post(c, "[\"a\"]", 400), "invalid_request");
  check_error(post(c, "{\"texts\": [\"a\"], \"top_k\": 0}", 400), "invalid_request");
  check_error(post(c, "{\"texts\": []}", 422), "empty_texts");
  check_error(post(c, "{\"texts\": [\"a\", \"b\"], \"pairs\": [\"c\"]}", 422), "pairs_mismatch");
  json many{{"texts", std::vector<std::string>(17, "x")}};
  check_error(post(c, many.dump(), 413), "too_many_texts");
  json big{{"texts", {std::string(10000, 'a')}}};
  check_error(post(c, big.dump(), 413), "body_too_large");
  // The server still answers afterwards.
  post(c, json{{"texts", {"still alive"}}}.dump(), 200);
}

TEST_CASE("serve: concurrent clients are batched and all answered correctly", "[serve]") {
  auto& server = shared_server();
  // Reference answers, one text per request.
  std::vector<json> expected;
  {
    auto c = server.client();
    for (const auto& t : kTexts) expected.push_back(post(c, json{{"texts", {t}}}.dump(), 200)["predictions"][0]);
  }
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto c = server.client();
      for (int i = 0; i < 20; ++i) {
        const size_t k = static_cast<size_t>(t + i) % kTexts.size();
        auto r = c.Post("/v1/predict", json{{"texts", {kTexts[k], kTexts[(k + 1) % kTexts.size()]}}}.dump(),
                        "application/json");
        if (!r || r->status != 200) {
          ++wrong;
          continue;
        }
        json j = json::parse(r->body);
        const bool same = j["predictions"].size() == 2 && j["predictions"][0]["label"] == expected[k]["label"] &&
                          j["predictions"][1]["label"] == expected[(k + 1) % kTexts.size()]["label"] &&
                          std::abs(j["predictions"][0]["score"].get<double>() -
                                   expected[k]["score"].get<double>()) < 1e-5;
        (same ? ok : wrong)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(ok == 160);

  auto c = server.client();
  auto m = c.Get("/metrics");
  REQUIRE(m);
  REQUIRE(m->status == 200);
  CHECK(m->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& text = m->body;
  CHECK(text.find("# TYPE nlpc_http_requests_total counter") != std::string::npos);
  CHECK(text.find("nlpc_http_requests_total{endpoint=\"/v1/predict\",status=\"200\"}") != std::string::npos);
  CHECK(text.find("nlpc_http_request_duration_seconds_bucket{endpoint=\"/v1/predict\",le=\"+Inf\"}") !=
        std::string::npos);
  CHECK(text.find("nlpc_batch_size_bucket{le=\"1\"}") != std::string::npos);
  std::smatch sm;
  REQUIRE(std::regex_search(text, sm, std::regex("\nnlpc_texts_predicted_total ([0-9]+)\n")));
  CHECK(std::stoll(sm[1].str()) >= 320 + 3);
  REQUIRE(std::regex_search(text, sm, std::regex("\nnlpc_batches_total ([0-9]+)\n")));
  CHECK(std::stoll(sm[1].str()) >= 1);
}

TEST_CASE("serve: a request not answered within --timeout-ms gets 504", "[serve]") {
  // The batching worker waits 200 ms for more requests; the request's limit is 20 ms.
  ServerProcess server({"--timeout-ms", "20", "--batch-wait-ms", "200", "--max-batch", "64"});
  auto c = server.client();
  check_error(post(c, json{{"texts", {"hello"}}}.dump(), 504), "timeout");
  // The server counts a request after sending its answer: poll briefly.
  bool counted = false;
  for (int i = 0; i < 50 && !counted; ++i) {
    auto m = c.Get("/metrics");
    REQUIRE(m);
    counted = m->body.find("nlpc_http_requests_total{endpoint=\"/v1/predict\",status=\"504\"} 1\n") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(counted);
}

TEST_CASE("serve: SIGTERM stops the server promptly with exit code 0", "[serve]") {
  ServerProcess server;
  auto c = server.client();
  post(c, json{{"texts", {"hello"}}}.dump(), 200);
  const auto t0 = Clock::now();
  CHECK(server.signal_and_wait(SIGTERM, std::chrono::seconds(5)) == 0);
  CHECK(Clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("bench: JSON result has the keys the run report reads", "[serve]") {
  TempDir d;
  auto r = run_nlpc("--threads 1 bench -m " + served_model() + " --texts 20 --min-seconds 0.05 --json " +
                    d.file("bench.json") + " --runs-dir " + d.file("runs") + " --experiment bench");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("latency p50") != std::string::npos);
  json j = json::parse(read_file(d.file("bench.json")));
  for (const char* k : {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "size_mb", "rss_after_load_mb",
                        "peak_rss_mb"}) {
    INFO(k);
    REQUIRE(j.contains(k));
    CHECK(j[k].get<double>() > 0);
  }
  CHECK(j["latency_p50_ms"].get<double>() <= j["latency_p99_ms"].get<double>());
  CHECK(j["parameters"].get<int64_t>() > 0);
  CHECK(j["peak_rss_mb"].get<double>() >= j["rss_after_load_mb"].get<double>());
  for (const char* b : {"1", "8", "32", "128"}) {
    INFO(b);
    REQUIRE(j["throughput"].contains(b));
    CHECK(j["throughput"][b].get<double>() > 0);
  }
  // Recorded in the run as artifacts/bench.json.
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("recorded in run ([0-9a-f]{32})")));
  json art = json::parse(read_file(d.file("runs/bench/" + m[1].str() + "/artifacts/bench.json")));
  CHECK(art["latency_p50_ms"] == j["latency_p50_ms"]);
}
