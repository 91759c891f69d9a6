#pragma once
// Dynamic batching for the server: requests from many threads are queued; one worker thread per
// model takes the oldest job and merges the following ones of the same kind (same merge key: with or
// without pairs, the same generation options) until max_batch items are collected or max_wait has
// passed, runs the model once, and hands every job its share. A model is only ever called from its
// worker thread. When a merged batch fails, each of its jobs is run alone, so that only the request
// at fault gets the error.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlpc/eval/matrix.h"

namespace nlpc {
class TextClassifier;

namespace serve {

// One request's share of a batch.
struct Job {
  virtual ~Job() = default;
  virtual size_t items() const = 0;                 // texts or recordings it adds to a batch
  virtual std::string merge_key() const { return ""; }  // jobs merge only with equal keys
  virtual void fail(std::exception_ptr e) = 0;      // answers the waiting request with an error
  std::atomic<bool> cancelled{false};               // its client gave up: skipped if not started
};

// A job answered with a T.
template <class T>
struct ResultJob : Job {
  std::promise<T> result;
  void fail(std::exception_ptr e) override {
    try {
      result.set_exception(e);
    } catch (const std::future_error&) {  // already answered
    }
  }
};

// Runs merged jobs (all of one merge key) and answers each of them; may throw.
using BatchFn = std::function<void(const std::vector<std::shared_ptr<Job>>& jobs)>;

class Batcher {
 public:
  // `on_batch(items)` is called after every successful model call (for metrics).
  Batcher(BatchFn run, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
          std::function<void(size_t)> on_batch = {});
  // A text classifier's batcher (jobs: BatchJob).
  Batcher(TextClassifier& model, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
          std::function<void(size_t)> on_batch = {});
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues a job; returns false (job untouched) when max_queue items are queued already.
  bool submit(const std::shared_ptr<Job>& job);
  // Finishes the queued jobs and joins the worker.
  void stop();
  size_t queued_texts() const;

 private:
  void worker();
  std::vector<std::shared_ptr<Job>> take_batch();
  void run_batch(const std::vector<std::shared_ptr<Job>>& jobs);

  BatchFn run_;
  size_t max_batch_;
  std::chrono::microseconds max_wait_;
  size_t max_queue_;
  std::function<void(size_t)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  size_t queued_items_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

// Texts (and pairs) to classify: the rows of their probability matrix.
struct BatchJob : ResultJob<eval::Matrix> {
  std::vector<std::string> texts;
  std::vector<std::string> pairs;  // empty or texts.size()
  size_t items() const override { return texts.size(); }
  std::string merge_key() const override { return pairs.empty() ? "texts" : "pairs"; }
};

// The batch function of a text classifier: one predict_proba call over the merged texts.
BatchFn classifier_batches(TextClassifier& model);

}  // namespace serve
}  // namespace nlpc
