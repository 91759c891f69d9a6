// Unit tests of the server's batcher and metrics with a fake classifier.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "nlpc/tasks/classification/classifier.h"
#include "nlpc/serve/batcher.h"
#include "nlpc/serve/metrics.h"

namespace {

// Probability of label "long" = min(1, length / 10); records the batch sizes it was called with.
class FakeClassifier : public nlpc::TextClassifier {
 public:
  const std::vector<std::string>& labels() const override { return labels_; }
  bool multilabel() const override { return false; }
  nlpc::eval::Matrix predict_proba(const std::vector<std::string>& texts,
                                   const std::vector<std::string>* pairs) override {
    calls.push_back(texts.size());
    nlpc::eval::Matrix m(static_cast<int64_t>(texts.size()), 2);
    for (size_t i = 0; i < texts.size(); ++i) {
      float len = static_cast<float>(texts[i].size() + (pairs ? (*pairs)[i].size() : 0));
      float p = std::min(1.f, len / 10.f);
      m.at(int64_t(i), 0) = 1 - p;
      m.at(int64_t(i), 1) = p;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return m;
  }
  std::string architecture() const override { return "fake"; }
  int64_t num_parameters() const override { return 1; }
  std::vector<size_t> calls;

 private:
  std::vector<std::string> labels_{"short", "long"};
};

}  // namespace

TEST_CASE("batcher: concurrent jobs are merged and each gets its own rows", "[serve]") {
  FakeClassifier model;
  std::atomic<size_t> batched{0};
  nlpc::serve::Batcher batcher(model, 8, std::chrono::milliseconds(20), 1000, [&](size_t n) { batched += n; });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto job = std::make_shared<nlpc::serve::BatchJob>();
        job->texts = {std::string(size_t(t), 'x'), std::string(size_t(i), 'y')};
        auto fut = job->result.get_future();
        REQUIRE(batcher.submit(job));
        nlpc::eval::Matrix m = fut.get();
        if (m.rows != 2 || std::abs(m.at(0, 1) - float(t) / 10.f) > 1e-6f ||
            std::abs(m.at(1, 1) - float(i) / 10.f) > 1e-6f)
          ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  batcher.stop();
  CHECK(wrong == 0);
  CHECK(batched == 60);
  size_t total = 0, biggest = 0;
  for (size_t n : model.calls) {
    total += n;
    biggest = std::max(biggest, n);
    CHECK(n <= 8);
  }
  CHECK(total == 60);
  CHECK(biggest > 2);  // requests from different threads shared a model call
}

TEST_CASE("batcher: pairs are never mixed with single texts; a stopped batcher refuses jobs", "[serve]") {
  FakeClassifier model;
  nlpc::serve::Batcher batcher(model, 64, std::chrono::milliseconds(30), 3);
  auto a = std::make_shared<nlpc::serve::BatchJob>();
  a->texts = {"aa"};
  auto b = std::make_shared<nlpc::serve::BatchJob>();
  b->texts = {"aa"};
  b->pairs = {"bbbb"};
  auto fa = a->result.get_future();
  auto fb = b->result.get_future();
  REQUIRE(batcher.submit(a));
  REQUIRE(batcher.submit(b));
  CHECK(fa.get().at(0, 1) == Approx(0.2f));
  CHECK(fb.get().at(0, 1) == Approx(0.6f));
  batcher.stop();
  CHECK(model.calls == std::vector<size_t>{1, 1});
  auto late = std::make_shared<nlpc::serve::BatchJob>();
  late->texts = {"x"};
  CHECK_FALSE(batcher.submit(late));  // stopped
}

TEST_CASE("metrics: Prometheus text with cumulative buckets", "[serve]") {
  nlpc::serve::Metrics m;
  m.record_request("/v1/predict", 200, 0.003);
  m.record_request("/v1/predict", 200, 0.2);
  m.record_request("/v1/predict", 400, 0.0001);
  m.record_batch(3);
  m.record_batch(40);
  const std::string t = m.render(7);
  CHECK(t.find("nlpc_http_requests_total{endpoint=\"/v1/predict\",status=\"200\"} 2\n") != std::string::npos);
  CHECK(t.find("nlpc_http_requests_total{endpoint=\"/v1/predict\",status=\"400\"} 1\n") != std::string::npos);
  CHECK(t.find("nlpc_http_request_duration_seconds_bucket{endpoint=\"/v1/predict\",le=\"0.001\"} 1\n") !=
        std::string::npos);
  CHECK(t.find("nlpc_http_request_duration_seconds_bucket{endpoint=\"/v1/predict\",le=\"0.005\"} 2\n") !=
        std::string::npos);
  CHECK(t.find("nlpc_http_request_duration_seconds_bucket{endpoint=\"/v1/predict\",le=\"+Inf\"} 3\n") !=
        std::string::npos);
  CHECK(t.find("nlpc_http_request_duration_seconds_count{endpoint=\"/v1/predict\"} 3\n") != std::string::npos);
  CHECK(t.find("nlpc_batch_size_bucket{le=\"2\"} 0\n") != std::string::npos);
  CHECK(t.find("nlpc_batch_size_bucket{le=\"4\"} 1\n") != std::string::npos);
  CHECK(t.find("nlpc_batch_size_bucket{le=\"64\"} 2\n") != std::string::npos);
  CHECK(t.find("nlpc_batch_size_sum 43\n") != std::string::npos);
  CHECK(t.find("nlpc_texts_predicted_total 43\n") != std::string::npos);
  CHECK(t.find("nlpc_queue_texts 7\n") != std::string::npos);
  CHECK(nlpc::serve::Metrics::endpoint_label("/v1/predict") == "/v1/predict");
  CHECK(nlpc::serve::Metrics::endpoint_label("/etc/passwd") == "other");
}
