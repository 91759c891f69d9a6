#include "commands.h"

namespace nlpc::cli {

void register_tokenize(CLI::App& app) {
  auto* sub = app.add_subcommand("tokenize", "Encode/decode text with WordPiece, SentencePiece and byte-level BPE; train tokenizers");
  sub->allow_extras();
  on_run(sub, not_implemented("tokenize"));
}

}  // namespace nlpc::cli
