#pragma once
// A transcript (segments with times) and its output formats, shared by `nlpc transcribe`, the
// speech pipelines and the server. Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc::io {

struct TranscriptSegment {
  double start = 0, end = 0;
  std::string text;
  std::vector<int64_t> tokens;
  double avg_logprob = 0, no_speech_prob = 0, temperature = 0, compression_ratio = 0;
};

struct Transcript {
  std::string file;
  std::string language;
  std::string text;
  std::vector<TranscriptSegment> segments;
};

// Output formats. json: {"text", "language", "segments": [{"start","end","text","tokens",
// "avg_logprob","no_speech_prob"}]}; srt/vtt: one cue per segment.
std::string format_transcript(const Transcript& t, const std::string& format);
std::string format_timestamp(double seconds, char decimal_marker, bool always_hours);

}  // namespace nlpc::io
