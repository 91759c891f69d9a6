// `nlpc tokenize`, `nlpc tokenize decode`, `nlpc tokenize train`: flags → options structs
// (include/nlpc/text/tokenize_cmd.h); the work is in src/text.
#include "commands.h"
#include "module.h"
#include "nlpc/core/error.h"
#include "nlpc/commands/tokenize.h"

namespace nlpc::cli {

void register_tokenize(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "tokenize", "Encode/decode text with WordPiece, SentencePiece and byte-level BPE; train tokenizers");
  static text::TokenizeOptions o;
  sub->add_option("--tokenizer", o.tokenizer,
                  "Tokenizer folder (tokenizer.json, vocab.txt, vocab.json+merges.txt, *.model) or file");
  sub->add_option("--text", o.text, "Text to encode (else --input, else stdin lines)");
  sub->add_option("--pair-text", o.pair_text, "Second sequence for --text");
  sub->add_option("--input", o.input, "Input file: plain text lines, .csv (header row) or .jsonl");
  hidden_alias(sub->add_option("--text-column,--column", o.column, "Text column of a .csv/.jsonl input")
                   ->capture_default_str(),
               "--column");
  sub->add_option("--pair-column", o.pair_column, "Second-sequence column of a .csv/.jsonl input");
  sub->add_option("--format", o.format, "ids, tokens or jsonl")->capture_default_str();
  sub->add_option("--max-length", o.max_length, "Truncate to N tokens (special tokens included)");
  sub->add_option("--truncation", o.truncation, "longest_first, only_first or only_second")->capture_default_str();
  sub->add_flag("--pad", o.pad, "Pad to --max-length (attention_mask 0 on padding)");
  sub->add_flag("--no-special-tokens", o.no_special_tokens, "Do not add [CLS]/[SEP], </s>, ...");
  sub->add_option("--output", o.output, "Output file ('-' = stdout)")->capture_default_str();
  sub->require_subcommand(0, 1);
  on_run(sub, [sub] {
    o.has_text = sub->count("--text") > 0;
    o.has_pair_text = sub->count("--pair-text") > 0;
    if (o.tokenizer.empty()) throw UsageError("--tokenizer PATH is required");
    return torch_module().run_tokenize(o);
  });

  auto* dec = sub->add_subcommand("decode", "Turn lines of token ids back into text");
  static text::DecodeOptions d;
  dec->add_option("--tokenizer", d.tokenizer, "Tokenizer folder or file")->required();
  dec->add_option("--input", d.input, "File of id lines (\"1 2 3\", \"[1,2,3]\" or {\"ids\":[...]}); default stdin");
  dec->add_option("--ids", d.ids, "One id list to decode");
  dec->add_flag("--skip-special-tokens", d.skip_special_tokens, "Leave out special tokens");
  dec->add_option("--format", d.format, "text or jsonl")->capture_default_str();
  dec->add_option("--output", d.output, "Output file ('-' = stdout)")->capture_default_str();
  on_run(dec, [] { return torch_module().run_tokenize_decode(d); });

  auto* tr = sub->add_subcommand("train", "Train a WordPiece, BPE or Unigram vocabulary");
  static text::TrainTokenizerOptions t;
  tr->add_option("--type", t.type, "wordpiece, bpe (SentencePiece BPE) or unigram")->required()
      ->check(CLI::IsMember({"wordpiece", "bpe", "unigram"}));
  tr->add_option("--input", t.input, "Training text: plain lines, .csv or .jsonl")->required();
  hidden_alias(tr->add_option("--text-column,--column", t.column, "Text column of a .csv/.jsonl input")
                   ->capture_default_str(),
               "--column");
  tr->add_option("--vocab-size", t.vocab_size, "Vocabulary size")->capture_default_str()->check(CLI::PositiveNumber);
  tr->add_option("--output", t.output, "Output folder")->required();
  tr->add_option("--min-frequency", t.min_frequency, "wordpiece: ignore rarer words")->capture_default_str();
  tr->add_flag("--cased{false}", t.lowercase, "wordpiece: keep case and accents");
  tr->add_option("--character-coverage", t.character_coverage, "unigram/bpe: SentencePiece character coverage")
      ->capture_default_str();
  on_run(tr, [] { return text::train_tokenizer(t); });
}

}  // namespace nlpc::cli
