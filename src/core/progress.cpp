#include "nlpc/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "nlpc/core/log.h"

namespace nlpc {
namespace {
ProgressBar::Mode g_mode = ProgressBar::Mode::kAuto;

std::string format_rate(double rate) {
  char buf[64];
  if (rate >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", rate / 1e6);
  } else if (rate >= 1e4) {
    std::snprintf(buf, sizeof(buf), "%.1fk", rate / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f", rate);
  }
  return buf;
}
}  // namespace

double ProgressBar::plain_interval_s = 10.0;

void ProgressBar::set_mode(Mode m) { g_mode = m; }

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)) {
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_;
  Mode m = g_mode;
  if (m == Mode::kAuto) {
    if (quiet_mode()) {
      m = Mode::kOff;
    } else {
      m = isatty(STDERR_FILENO) ? Mode::kLive : Mode::kPlain;
    }
  }
  off_ = m == Mode::kOff;
  live_ = m == Mode::kLive;
}

ProgressBar::~ProgressBar() {
  if (!finished_ && live_) std::fputs("\n", stderr);
}

std::string ProgressBar::format_duration(double s) {
  if (s < 0 || s > 1e8) return "?";
  int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>((t % 3600) / 60));
  } else if (t >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(t));
  }
  return buf;
}

std::string ProgressBar::render_line(double elapsed) const {
  std::ostringstream os;
  os << label_ << " ";
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    if (live_) {
      const int width = 28;
      const int filled = static_cast<int>(frac * width);
      os << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%5.1f%%", frac * 100.0);
    os << pct << " " << done_ << "/" << total_ << " " << unit_;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1;
    os << " | " << format_rate(rate) << " " << unit_ << "/s | elapsed " << format_duration(elapsed)
       << " | ETA " << (done_ >= total_ ? "0s" : format_duration(eta));
  } else {
    os << done_ << " " << unit_ << " | " << format_rate(rate) << " " << unit_ << "/s | elapsed "
       << format_duration(elapsed);
  }
  if (!postfix_.empty()) os << " | " << postfix_;
  return os.str();
}

void ProgressBar::draw(bool final) {
  if (off_) return;
  auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (live_) {
    if (!final && since_draw < 0.1) return;
    std::fprintf(stderr, "\r\033[K%s", render_line(elapsed).c_str());
    if (final) std::fputs("\n", stderr);
  } else {
    if (!final && since_draw < plain_interval_s) return;
    std::fprintf(stderr, "%s\n", render_line(elapsed).c_str());
  }
  std::fflush(stderr);
  last_draw_ = now;
}

void ProgressBar::update(int64_t done) {
  done_ = done;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

}  // namespace nlpc
