#include "nlpc/serve/batcher.h"

#include "nlpc/core/error.h"
#include "nlpc/tasks/classification/classifier.h"

namespace nlpc::serve {

Batcher::Batcher(TextClassifier& model, size_t max_batch, std::chrono::microseconds max_wait, size_t max_queue,
                 std::function<void(size_t)> on_batch)
    : model_(model),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      max_wait_(max_wait),
      max_queue_(max_queue),
      on_batch_(std::move(on_batch)) {
  thread_ = std::thread([this] { worker(); });
}

Batcher::~Batcher() { stop(); }

bool Batcher::submit(const std::shared_ptr<BatchJob>& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    if (queued_texts_ > 0 && queued_texts_ + job->texts.size() > max_queue_) return false;
    queue_.push_back(job);
    queued_texts_ += job->texts.size();
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
  return queued_texts_;
}

// Waits for a first job, then for more of the same kind until the batch is full or max_wait passed.
// Returns an empty vector when stopping with nothing queued.
std::vector<std::shared_ptr<BatchJob>> Batcher::take_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  std::vector<std::shared_ptr<BatchJob>> jobs;
  if (queue_.empty()) return jobs;
  const auto deadline = std::chrono::steady_clock::now() + max_wait_;
  size_t texts = 0;
  const bool with_pairs = !queue_.front()->pairs.empty();
  for (;;) {
    while (!queue_.empty() && (texts == 0 || texts + queue_.front()->texts.size() <= max_batch_) &&
           !queue_.front()->pairs.empty() == with_pairs) {
      auto job = queue_.front();
      queue_.pop_front();
      queued_texts_ -= job->texts.size();
      if (job->cancelled.load()) continue;
      texts += job->texts.size();
      jobs.push_back(std::move(job));
    }
    const bool blocked = !queue_.empty();  // the next job does not fit or is of the other kind
    if (texts >= max_batch_ || blocked || stopping_) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (queue_.empty()) break;
    }
  }
  return jobs;
}

void Batcher::run_batch(const std::vector<std::shared_ptr<BatchJob>>& jobs) {
  std::vector<std::string> texts, pairs;
  for (const auto& j : jobs) {
    texts.insert(texts.end(), j->texts.begin(), j->texts.end());
    pairs.insert(pairs.end(), j->pairs.begin(), j->pairs.end());
  }
  try {
    // probs: [texts, labels]
    eval::Matrix probs = model_.predict_proba(texts, pairs.empty() ? nullptr : &pairs);
    if (on_batch_) on_batch_(texts.size());
    int64_t row = 0;
    for (const auto& j : jobs) {
      eval::Matrix m(static_cast<int64_t>(j->texts.size()), probs.cols);
      for (int64_t r = 0; r < m.rows; ++r, ++row) std::copy(probs.row(row), probs.row(row) + probs.cols, m.row(r));
      j->result.set_value(std::move(m));
    }
  } catch (...) {
    // One bad request (e.g. a text too long for the model) must not fail the others merged with
    // it: run each job alone so that only the offending one gets the error.
    if (jobs.size() > 1) {
      for (const auto& j : jobs) run_batch({j});
      return;
    }
    for (const auto& j : jobs) {
      try {
        j->result.set_exception(std::current_exception());
      } catch (const std::future_error&) {
      }
    }
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

}  // namespace nlpc::serve
