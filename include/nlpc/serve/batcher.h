#pragma once
// Dynamic batching for the server: requests from many threads are queued; one worker thread takes
// the oldest request and merges the following ones (same kind: with or without pairs) until
// max_batch texts are collected or max_wait has passed, runs the classifier once, and hands every
// request its rows. The classifier is only ever called from the worker thread.
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

struct BatchJob {
  std::vector<std::string> texts;
  std::vector<std::string> pairs;  // empty or texts.size()
  std::promise<eval::Matrix> result;
  std::atomic<bool> cancelled{false};
};

class Batcher {
 public:
  // `on_batch(texts)` is called after every model call (for metrics).
  Batcher(TextClassifier& model, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
          std::function<void(size_t)> on_batch = {});
  ~Batcher();  // stop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues a job; returns false (job untouched) when the queue holds max_queue texts already.
  bool submit(const std::shared_ptr<BatchJob>& job);
  // Finishes the queued jobs and joins the worker.
  void stop();
  size_t queued_texts() const;

 private:
  void worker();
  std::vector<std::shared_ptr<BatchJob>> take_batch();
  void run_batch(const std::vector<std::shared_ptr<BatchJob>>& jobs);

  TextClassifier& model_;
  size_t max_batch_;
  std::chrono::microseconds max_wait_;
  size_t max_queue_;
  std::function<void(size_t)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<BatchJob>> queue_;
  size_t queued_texts_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace serve
}  // namespace nlpc
