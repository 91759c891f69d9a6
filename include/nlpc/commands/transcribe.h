#pragma once
// `nlpc transcribe`: recordings -> text with a Whisper model folder (src/commands/transcribe.cpp).
#include "nlpc/tasks/asr/transcriber.h"

namespace nlpc {

// --manifest mode of run_transcribe (src/tasks/asr/asr.cpp).
int run_transcribe_manifest(const TranscribeOptions& opts);

// Runs the whole command; returns the exit code.
int run_transcribe(const TranscribeOptions& opts);

}  // namespace nlpc
