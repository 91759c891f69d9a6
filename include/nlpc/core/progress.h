#pragma once
// Progress reporting for long work. On a terminal: a live bar redrawn in place on stderr.
// Otherwise (pipes, CI logs): a plain line at most every `plain_interval_s` seconds.
#include <chrono>
#include <cstdint>
#include <string>

namespace nlpc {

class ProgressBar {
 public:
  // total <= 0: unknown total (shows count and rate only). unit: "rows", "samples", "MB", ...
  ProgressBar(std::string label, int64_t total, std::string unit);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(int64_t done);           // absolute position
  void advance(int64_t n = 1) { update(done_ + n); }
  void set_postfix(const std::string& s) { postfix_ = s; }  // e.g. "loss 0.412"
  void set_total(int64_t total) { total_ = total; }
  void finish();

  // Forces the plain or live mode (tests); by default decided by isatty(stderr) and --quiet.
  enum class Mode { kAuto, kLive, kPlain, kOff };
  static void set_mode(Mode m);
  static double plain_interval_s;

  // Formats e.g. "1h02m" / "3m05s" / "12s".
  static std::string format_duration(double seconds);
  std::string render_line(double elapsed_s) const;

 private:
  void draw(bool final);

  std::string label_;
  int64_t total_;
  std::string unit_;
  std::string postfix_;
  int64_t done_ = 0;
  bool finished_ = false;
  bool live_ = false;
  bool off_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace nlpc
