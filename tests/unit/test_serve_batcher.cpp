// Unit tests of the server's batcher and metrics with a fake classifier.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
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

namespace {
// A job of the generic batcher: its value is the batch it ran in (all jobs of that batch).
struct KeyedJob : nlpc::serve::ResultJob<std::vector<int>> {
  int id = 0;
  std::string key;
  size_t items() const override { return 1; }
  std::string merge_key() const override { return key; }
};
}  // namespace

TEST_CASE("batcher: jobs merge only with equal keys; a full queue refuses; a failing batch is rerun job by job",
          "[serve]") {
  std::mutex m;
  std::vector<std::vector<int>> batches;
  nlpc::serve::BatchFn run = [&](const std::vector<std::shared_ptr<nlpc::serve::Job>>& jobs) {
    std::vector<int> ids;
    for (const auto& j : jobs) ids.push_back(static_cast<KeyedJob&>(*j).id);
    {
      std::lock_guard<std::mutex> lock(m);
      batches.push_back(ids);
    }
    for (int id : ids)
      if (id == 13) throw std::runtime_error("job 13 is bad");
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    for (const auto& j : jobs) static_cast<KeyedJob&>(*j).result.set_value(ids);
  };
  nlpc::serve::Batcher batcher(run, 8, std::chrono::milliseconds(50), 2);
  auto job = [](int id, const std::string& key) {
    auto j = std::make_shared<KeyedJob>();
    j->id = id;
    j->key = key;
    return j;
  };
  // 1 and 2 (key a) merge; 3 (key b) waits for its own batch
  auto j1 = job(1, "a"), j2 = job(2, "a"), j3 = job(3, "b");
  auto f1 = j1->result.get_future(), f2 = j2->result.get_future(), f3 = j3->result.get_future();
  REQUIRE(batcher.submit(j1));
  REQUIRE(batcher.submit(j2));
  std::this_thread::sleep_for(std::chrono::milliseconds(80));  // the worker is running {1, 2}
  REQUIRE(batcher.submit(j3));
  auto j4 = job(4, "b");
  auto f4 = j4->result.get_future();
  REQUIRE(batcher.submit(j4));  // 2 items queued: the limit
  CHECK_FALSE(batcher.submit(job(5, "b")));  // a third is refused (the server answers 503)
  CHECK(f1.get() == std::vector<int>{1, 2});
  CHECK(f2.get() == std::vector<int>{1, 2});
  CHECK(f3.get() == std::vector<int>{3, 4});
  CHECK(f4.get() == std::vector<int>{3, 4});
  // a batch with a bad job fails only that job
  auto j6 = job(6, "c"), j13 = job(13, "c");
  auto f6 = j6->result.get_future(), f13 = j13->result.get_future();
  REQUIRE(batcher.submit(j6));
  REQUIRE(batcher.submit(j13));
  CHECK(f6.get() == std::vector<int>{6});
  CHECK_THROWS_WITH(f13.get(), "job 13 is bad");
  batcher.stop();
}
