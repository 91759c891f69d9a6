#include "commands.h"

namespace nlpc::cli {

void register_transcribe(CLI::App& app) {
  auto* sub = app.add_subcommand("transcribe", "Speech to text with a Whisper model");
  sub->allow_extras();
  on_run(sub, not_implemented("transcribe"));
}

}  // namespace nlpc::cli
