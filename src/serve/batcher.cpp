#include "nlpc/serve/batcher.h"

#include "nlpc/core/error.h"
#include "nlpc/tasks/classification/classifier.h"

namespace nlpc::serve {

Batcher::Batcher(BatchFn run, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
                 std::function<void(size_t)> on_batch)
    : run_(std::move(run)),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      max_wait_(max_wait),
      max_queue_(max_queue),
      on_batch_(std::move(on_batch)) {
  thread_ = std::thread([this] { worker(); });
}

Batcher::Batcher(TextClassifier& model, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
                 std::function<void(size_t)> on_batch)
    : Batcher(classifier_batches(model), max_batch, max_wait, max_queue, std::move(on_batch)) {}

Batcher::~Batcher() { stop(); }

bool Batcher::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    if (queued_items_ > 0 && queued_items_ + job->items() > max_queue_) return false;
    queue_.push_back(job);
    queued_items_ += job->items();
  }
  cv_.notify_one();
  return true;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t Batcher::queued_texts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_items_;
}

// Waits for a first job, then for more of the same key until the batch is full or max_wait passed.
// Returns an empty vector when stopping with nothing queued.
std::vector<std::shared_ptr<Job>> Batcher::take_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  std::vector<std::shared_ptr<Job>> jobs;
  if (queue_.empty()) return jobs;
  const auto deadline = std::chrono::steady_clock::now() + max_wait_;
  size_t items = 0;
  const std::string key = queue_.front()->merge_key();
  for (;;) {
    while (!queue_.empty() && (items == 0 || items + queue_.front()->items() <= max_batch_) &&
           queue_.front()->merge_key() == key) {
      auto job = queue_.front();
      queue_.pop_front();
      queued_items_ -= job->items();
      if (job->cancelled.load()) continue;
      items += job->items();
      jobs.push_back(std::move(job));
    }
    const bool blocked = !queue_.empty();  // the next job does not fit or is of another kind
    if (items >= max_batch_ || blocked || stopping_) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (queue_.empty()) break;
    }
  }
  return jobs;
}

void Batcher::run_batch(const std::vector<std::shared_ptr<Job>>& jobs) {
  try {
    run_(jobs);
    if (on_batch_) {
      size_t items = 0;
      for (const auto& j : jobs) items += j->items();
      on_batch_(items);
    }
  } catch (...) {
    // One bad request (e.g. a text too long for the model) must not fail the others merged with
    // it: run each job alone so that only the offending one gets the error.
    if (jobs.size() > 1) {
      for (const auto& j : jobs) run_batch({j});
      return;
    }
    for (const auto& j : jobs) j->fail(std::current_exception());
  }
}

void Batcher::worker() {
  for (;;) {
    auto jobs = take_batch();
    if (jobs.empty()) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ && queue_.empty()) return;
      continue;
    }
    run_batch(jobs);
  }
}

BatchFn classifier_batches(TextClassifier& model) {
  return [&model](const std::vector<std::shared_ptr<Job>>& jobs) {
    std::vector<std::string> texts, pairs;
    for (const auto& j : jobs) {
      const auto& b = static_cast<const BatchJob&>(*j);
      texts.insert(texts.end(), b.texts.begin(), b.texts.end());
      pairs.insert(pairs.end(), b.pairs.begin(), b.pairs.end());
    }
    // probs: [texts, labels]
    eval::Matrix probs = model.predict_proba(texts, pairs.empty() ? nullptr : &pairs);
    int64_t row = 0;
    for (const auto& j : jobs) {
      auto& b = static_cast<BatchJob&>(*j);
      eval::Matrix m(static_cast<int64_t>(b.texts.size()), probs.cols);
      for (int64_t r = 0; r < m.rows; ++r, ++row) std::copy(probs.row(row), probs.row(row) + probs.cols, m.row(r));
      b.result.set_value(std::move(m));
    }
  };
}

}  // namespace nlpc::serve
