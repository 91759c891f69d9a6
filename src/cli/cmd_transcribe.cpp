// `nlpc transcribe`: flags -> TranscribeOptions (include/nlpc/tasks/asr/transcriber.h); the work
// is in src/models/whisper_*.cpp and src/audio.
#include "commands.h"
#include "module.h"
#include "nlpc/commands/transcribe.h"

namespace nlpc::cli {

void register_transcribe(CLI::App& app) {
  auto* sub = app.add_subcommand("transcribe", "Speech to text with a Whisper model");
  static TranscribeOptions o;
  sub->add_option("inputs", o.inputs, "Audio files (WAV, FLAC, OGG, MP3; raw s16le with --sample-rate)");
  sub->add_option("--manifest", o.manifest, "CSV/TSV/JSONL with one recording per row: writes its rows with a "
                                            "'transcript' column added (to --output, CSV unless .jsonl/.tsv)");
  sub->add_option("--audio-column", o.audio_column, "With --manifest: audio path column (relative to the manifest's "
                                                    "folder)")->capture_default_str();
  sub->add_option("--model,-m", o.model, "Whisper model folder (config.json, model.safetensors, tokenizer files)")
      ->required();
  sub->add_option("--tokenizer", o.tokenizer, "Tokenizer folder (default: the model folder)");
  sub->add_option("--format,-f", o.format, "txt, json, srt or vtt")
      ->capture_default_str()
      ->check(CLI::IsMember({"txt", "json", "srt", "vtt"}));
  sub->add_option("--output,-o", o.output, "Output file, or folder (one <name>.<format> per input); '-' = stdout")
      ->capture_default_str();
  sub->add_option("--dump-features", o.dump_features,
                  "Write the log-mel features as .npy (float32 [n_mels, frames], zero-padded to whole 30 s windows)");
  sub->add_option("--language", o.language,
                  "Language code or name (en, pt, Portuguese) or auto (detect on the first window); default: the "
                  "model's generation_config.json language, else auto");
  sub->add_option("--task", o.task, "transcribe or translate (to English); default: the model's, else transcribe")
      ->check(CLI::IsMember({"transcribe", "translate"}));
  hidden_alias(sub->add_option("--num-beams,--beam-size", o.beam_size, "Beam search width (0 = greedy)")
                   ->capture_default_str()
                   ->check(CLI::NonNegativeNumber),
               "--beam-size");
  sub->add_option("--best-of", o.best_of, "Candidates when sampling at temperature > 0")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-timestamps{false}", o.timestamps, "Decode without timestamp tokens (one segment per window)");
  sub->add_option("--max-new-tokens", o.max_new_tokens, "Tokens per 30 s window (0 = 224)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--temperatures", o.temperatures, "Fallback temperatures, tried in order")->delimiter(',')
      ->capture_default_str();
  sub->add_option("--compression-ratio-threshold", o.compression_ratio_threshold,
                  "Retry at the next temperature above this gzip ratio (0 = off)")->capture_default_str();
  sub->add_option("--logprob-threshold", o.logprob_threshold, "Retry below this average log-probability")
      ->capture_default_str();
  sub->add_option("--no-speech-threshold", o.no_speech_threshold, "Silence above this no-speech probability")
      ->capture_default_str();
  sub->add_flag("--no-condition-on-previous-text{false}", o.condition_on_previous_text,
                "Do not prompt each window with the previous text");
  sub->add_option("--seed", o.seed, "Random seed for sampling")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--precision", o.precision,
                 "auto (as the model folder stores it), fp32, or int8: dynamic quantization of the "
                 "Transformer layers on the CPU (docs/int8.md)")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  sub->add_option("--audio-format", o.audio.format, "auto (by extension: .raw/.pcm/.s16 are raw), raw or file")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "raw", "file"}));
  sub->add_option("--sample-rate", o.audio.raw_sample_rate, "Sample rate of raw s16le input")->check(CLI::PositiveNumber);
  sub->add_option("--channels", o.audio.raw_channels, "Interleaved channels of raw s16le input")->capture_default_str()
      ->check(CLI::PositiveNumber);
  on_run(sub, [] { return torch_module().run_transcribe(o); });
}

}  // namespace nlpc::cli
