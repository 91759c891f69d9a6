// Transcript output formats: plain text, JSON, SubRip (SRT) and WebVTT.
#include "nlpc/io/transcript.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"

namespace nlpc::io {
std::string format_timestamp(double seconds, char decimal_marker, bool always_hours) {
  int64_t ms = static_cast<int64_t>(std::llround(seconds * 1000.0));
  int64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60;
  ms %= 1000;
  char buf[64];
  if (always_hours || h > 0) {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld%c%03lld", (long long)h, (long long)m, (long long)s, decimal_marker, (long long)ms);
  } else {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld%c%03lld", (long long)m, (long long)s, decimal_marker, (long long)ms);
  }
  return buf;
}

std::string format_transcript(const Transcript& t, const std::string& format) {
  std::ostringstream out;
  if (format == "txt") {
    for (const auto& s : t.segments) out << trim(s.text) << "\n";
  } else if (format == "json") {
    nlohmann::json j;
    j["text"] = t.text;
    j["language"] = t.language;
    j["segments"] = nlohmann::json::array();
    for (size_t i = 0; i < t.segments.size(); ++i) {
      const auto& s = t.segments[i];
      j["segments"].push_back({{"id", i}, {"start", std::round(s.start * 1000) / 1000}, {"end", std::round(s.end * 1000) / 1000},
                               {"text", s.text}, {"tokens", s.tokens}, {"avg_logprob", s.avg_logprob},
                               {"no_speech_prob", s.no_speech_prob}, {"temperature", s.temperature},
                               {"compression_ratio", s.compression_ratio}});
    }
    out << j.dump() << "\n";
  } else if (format == "srt") {
    for (size_t i = 0; i < t.segments.size(); ++i) {
      const auto& s = t.segments[i];
      out << i + 1 << "\n" << format_timestamp(s.start, ',', true) << " --> " << format_timestamp(s.end, ',', true) << "\n"
          << trim(s.text) << "\n\n";
    }
  } else if (format == "vtt") {
    out << "WEBVTT\n\n";
    for (const auto& s : t.segments) {
      out << format_timestamp(s.start, '.', false) << " --> " << format_timestamp(s.end, '.', false) << "\n"
          << trim(s.text) << "\n\n";
    }
  } else {
    throw UsageError("--format: expected txt, json, srt or vtt, got '" + format + "'");
  }
  return out.str();
}

}  // namespace nlpc::io
