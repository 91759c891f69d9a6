#pragma once
// When a streaming writer (CsvWriter, JsonlWriter) flushes: every `every_rows` rows or once
// `every_seconds` have passed since the last flush, whichever comes first.
#include <chrono>
#include <cstdint>

namespace nlpc::io {

class PeriodicFlush {
 public:
  PeriodicFlush(int64_t every_rows, double every_seconds)
      : every_rows_(every_rows), every_seconds_(every_seconds), last_(std::chrono::steady_clock::now()) {}
  // Counts one written row; true when the caller should flush now.
  bool row_written() {
    if (++rows_ >= every_rows_) return true;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count() >= every_seconds_;
  }
  // The caller flushed: start counting again.
  void flushed() {
    rows_ = 0;
    last_ = std::chrono::steady_clock::now();
  }

 private:
  int64_t every_rows_;
  double every_seconds_;
  int64_t rows_ = 0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace nlpc::io
