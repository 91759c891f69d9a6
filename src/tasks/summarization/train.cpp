// `nlpc train` with task summarize (model.type t5): teacher-forced cross-entropy (labels -100 are
// ignored; decoder inputs are the labels shifted right behind decoder_start_token_id, as HF T5),
// from scratch (model.init random + model.config, SentencePiece vocabulary trained on the corpus
// unless model.tokenizer is given) or from a Hugging Face T5 folder. Validation: teacher-forced
// loss on all valid rows and ROUGE of greedy generations on the first eval.valid_rows rows. The
// best model is saved as a HF folder (config.json, model.safetensors, spiece.model,
// generation_config.json) in artifacts/model; test ROUGE is computed on it next to the lead baseline.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "nlpc/dist/dist.h"
#include "nlpc/data/model_columns.h"
#include "nlpc/tasks/summarization/summarizer.h"
#include "nlpc/tasks/train_common.h"
#include "nlpc/tasks/encoding.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/models/device.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/store.h"
#include "nlpc/text/train_tokenizer.h"
#include "nlpc/train/train_config.h"
#include "nlpc/train/trainer.h"

namespace nlpc {
namespace fs = std::filesystem;

namespace {
// A T5 whose training loss is the model's own seq2seq cross-entropy.
class T5Trainable : public train::ModuleModel {
 public:
  explicit T5Trainable(models::T5ForConditionalGeneration m)
      : ModuleModel(m.ptr(), [p = m.ptr()](const train::Batch& b) {
          return p->forward(b.input_ids, b.attention_mask, b.target_ids).logits;  // [batch, tgt, vocab]
        }),
        model_(std::move(m)) {}
  torch::Tensor loss(const train::Batch& b, const train::LossOptions&) override {
    if (!b.target_ids.defined()) throw RuntimeError("a summarization batch without target ids");
    return model_->forward(b.input_ids, b.attention_mask, b.target_ids).loss;
  }

 private:
  models::T5ForConditionalGeneration model_;
};

// The tokenizer folder: model.tokenizer, the init folder, or a SentencePiece unigram vocabulary
// trained on the training texts and targets (by `nlpc tokenize train`'s code) into
// artifacts/tokenizer; a resumed run reuses the one it trained.
std::string tokenizer_dir(const TrainConfig& cfg, const SummarySet& train, runs::Run& run) {
  if (!cfg.model.tokenizer.empty()) {
    return fs::is_directory(cfg.model.tokenizer) ? cfg.model.tokenizer
                                                 : fs::path(cfg.model.tokenizer).parent_path().string();
  }
  if (cfg.model.init != "random") return cfg.model.init;
  const std::string dir = run.artifact_path("tokenizer");
  if (file_exists(dir + "/spiece.model")) return dir;
  fs::create_directories(dir);
  const std::string corpus = (fs::path(run.dir()) / "tokenizer_corpus.txt").string();
  {
    AtomicFile f(corpus);
    for (const auto* v : {&train.texts, &train.targets}) {
      for (std::string t : *v) {
        for (char& c : t) if (c == '\n' || c == '\r') c = ' ';
        f.write(t + "\n");
      }
    }
    f.commit();
  }
  text::TrainTokenizerOptions o;
  o.type = "unigram";
  o.input = corpus;
  o.vocab_size = cfg.model.vocab_size;
  o.output = dir;
  spdlog::info("training a SentencePiece unigram vocabulary of {} pieces on {} texts and targets", o.vocab_size,
               train.texts.size());
  text::train_tokenizer(o);
  fs::remove(corpus);
  return dir;
}

std::vector<train::Example> encode_pairs(const text::Tokenizer& tok, const SummarySet& s, const TrainConfig& cfg) {
  std::vector<train::Example> out;
  out.reserve(s.texts.size());
  text::EncodeOptions src, tgt;
  src.max_length = cfg.model.max_length;
  tgt.max_length = cfg.model.max_target_length;
  src.with_tokens = tgt.with_tokens = false;
  for (size_t i = 0; i < s.texts.size(); ++i) {
    train::Example e;
    const auto a = tok.encode(cfg.model.source_prefix + s.texts[i], src).ids;
    const auto b = tok.encode(s.targets[i], tgt).ids;
    e.ids.assign(a.begin(), a.end());
    e.target_ids.assign(b.begin(), b.end());
    out.push_back(std::move(e));
  }
  return out;
}

models::GenerationOptions greedy_options(const TrainConfig& cfg, const models::T5Config& c) {
  models::GenerationOptions g;
  g.max_new_tokens = cfg.model.max_target_length;
  g.num_beams = cfg.eval.num_beams;
  g.decoder_start_token_id = c.decoder_start_token_id.value_or(c.pad_token_id);
  g.eos_token_id = c.eos_token_id;
  g.pad_token_id = c.pad_token_id;
  return g;
}

std::vector<std::string> generate_texts(models::T5ForConditionalGenerationImpl& m, const text::Tokenizer& tok,
                                        const std::vector<train::Example>& ex, size_t n,
                                        const models::GenerationOptions& g, int64_t batch, const torch::Device& dev) {
  std::vector<std::string> out;
  const int64_t pad = g.pad_token_id.value_or(0), eos = g.eos_token_id.value_or(1);
  for (size_t s = 0; s < n; s += static_cast<size_t>(batch)) {
    const size_t e = std::min(n, s + static_cast<size_t>(batch));
    size_t len = 1;
    for (size_t i = s; i < e; ++i) len = std::max(len, ex[i].ids.size());
    torch::Tensor ids = torch::full({static_cast<int64_t>(e - s), static_cast<int64_t>(len)}, pad, torch::kInt64);
    torch::Tensor mask = torch::zeros_like(ids);
    for (size_t i = s; i < e; ++i) {
      const auto k = static_cast<int64_t>(ex[i].ids.size());
      ids[static_cast<int64_t>(i - s)].narrow(0, 0, k).copy_(torch::tensor(ex[i].ids, torch::kInt64));
      mask[static_cast<int64_t>(i - s)].narrow(0, 0, k).fill_(1);
    }
    torch::Tensor gen = models::generate(m, ids.to(dev), mask.to(dev), g).to(torch::kCPU).contiguous();
    for (int64_t r = 0; r < gen.size(0); ++r) {
      std::vector<int32_t> row;
      const auto* p = gen.data_ptr<int64_t>() + r * gen.size(1);
      for (int64_t t = 1; t < gen.size(1) && p[t] != eos; ++t) {
        if (p[t] != pad) row.push_back(static_cast<int32_t>(p[t]));
      }
      out.push_back(tok.decode(row, true));
    }
  }
  return out;
}

struct SummarySets {
  SummarySet train;
  std::optional<SummarySet> valid, test;
};

SummarySets read_sets(const TrainConfig& cfg, runs::Run& run) {
  const DataSpec& spec = cfg.data;
  SummarySets d{read_summary_set(cfg.data.train, spec), std::nullopt, std::nullopt};
  if (!cfg.data.valid.empty()) d.valid = read_summary_set(cfg.data.valid, spec);
  if (!cfg.data.test.empty()) d.test = read_summary_set(cfg.data.test, spec);
  run.log_param("data.train_rows", static_cast<int64_t>(d.train.texts.size()));
  run.log_param("data.train_skipped_empty", d.train.skipped_empty);
  run.log_param("data.train_skipped_empty_target", d.train.skipped_empty_target);
  if (d.valid) run.log_param("data.valid_rows", static_cast<int64_t>(d.valid->texts.size()));
  if (d.test) run.log_param("data.test_rows", static_cast<int64_t>(d.test->texts.size()));
  spdlog::info("data: {} train pairs{}{}", d.train.texts.size(),
               d.valid ? ", " + std::to_string(d.valid->texts.size()) + " valid" : "",
               d.test ? ", " + std::to_string(d.test->texts.size()) + " test" : "");
  return d;
}

// A T5 from scratch (model.config, sized to the tokenizer) or the model.init folder's, on `device`.
models::T5ForConditionalGeneration build_model(const TrainConfig& cfg, const text::Tokenizer& tok,
                                               const std::string& tok_dir, c10::Device device, runs::Run& run) {
  const auto vocab = static_cast<int64_t>(tok.vocab_size());
  train::seed_everything(static_cast<uint64_t>(cfg.train.seed));
  models::T5ForConditionalGeneration model{nullptr};
  if (cfg.model.init == "random") {
    models::T5Config c = models::load_t5_config(cfg.model.config);
    c.vocab_size = vocab;
    c.pad_token_id = std::max<int32_t>(0, tok.special_id("pad"));
    c.eos_token_id = std::max<int32_t>(0, tok.special_id("eos"));
    c.decoder_start_token_id = c.pad_token_id;
    if (cfg.model.dropout >= 0) c.dropout_rate = cfg.model.dropout;
    c.raw["vocab_size"] = vocab;
    model = models::T5ForConditionalGeneration(c);
    models::t5_init_weights(*model);
    spdlog::info("from scratch: {} (d_model {}, {}+{} layers), vocabulary {} from {}", cfg.model.config, c.d_model,
                 c.num_layers, c.num_decoder_layers, vocab, tok_dir);
  } else {
    model = models::load_t5(cfg.model.init);
    if (vocab > model->config().vocab_size) {
      throw InputError(tok_dir, 0, 0, "the tokenizer has " + std::to_string(vocab) + " tokens, more than the " +
                                          std::to_string(model->config().vocab_size) + " embeddings of " +
                                          cfg.model.init);
    }
  }
  model->to(device);
  int64_t n_params = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();
  run.log_param("model.num_parameters", n_params);
  return model;
}

// Validation: teacher-forced loss on every valid row, ROUGE of generations on the first rows.
struct Validator {
  models::T5ForConditionalGeneration model;
  const text::Tokenizer* tok;
  const std::vector<train::Example>* examples;
  const SummarySet* set;
  train::BatchingOptions batching;
  models::GenerationOptions gen;
  size_t gen_rows;
  eval::RougeOptions rouge;
  c10::Device device;

  train::MetricMap operator()(train::TrainableModel&) {
    train::Batcher batcher(examples, batching, 0);
    double sum = 0, tokens = 0;
    for (const auto& idx : batcher.eval_plan()) {
      train::Batch b = batcher.collate(idx).to(device);
      const double n = b.target_mask.sum().item<double>();
      sum += model->forward(b.input_ids, b.attention_mask, b.target_ids).loss.item<double>() * n;
      tokens += n;
    }
    train::MetricMap mm;
    mm["loss"] = sum / std::max(1.0, tokens);
    if (gen_rows > 0) {
      const auto preds = generate_texts(*model, *tok, *examples, gen_rows, gen, batching.batch_size, device);
      const std::vector<std::string> refs(set->targets.begin(),
                                          set->targets.begin() + static_cast<std::ptrdiff_t>(gen_rows));
      const auto c = eval::rouge_corpus(refs, preds, rouge);
      mm["rouge1"] = c.rouge1;
      mm["rouge2"] = c.rouge2;
      mm["rougeL"] = c.rougeL;
      mm["rougeLsum"] = c.rougeLsum;
      // as ASR training prints its WER: the scores and one example
      spdlog::info("valid: loss {:.4f} ROUGE-1 {:.4f} ROUGE-2 {:.4f} ROUGE-L {:.4f} on {} rows (\"{}\" -> \"{}\")",
                   mm["loss"], c.rouge1, c.rouge2, c.rougeL, gen_rows, refs[0], preds[0]);
    } else {
      spdlog::info("valid: loss {:.4f}", mm["loss"]);
    }
    return mm;
  }
};

// Test (else valid) ROUGE of the saved folder next to the lead baseline; prints the table.
void score_saved_model(const TrainConfig& cfg, const SummarySets& d, runs::Run& run, const std::string& model_dir,
                       const eval::RougeOptions& ro, int64_t steps, double secs) {
  const SummarySet* final_set = d.test ? &*d.test : d.valid ? &*d.valid : nullptr;
  std::printf("run %s (%s) in %s\n", run.id().c_str(), run.name().c_str(), run.dir().c_str());
  if (final_set == nullptr) {
    spdlog::warn("no data.valid or data.test: the model is saved but not evaluated");
    return;
  }
  const std::string prefix = d.test ? "test/" : "valid/";
  Summarizer sum(model_dir, cfg.train.device);
  SummaryScoring how;
  how.generation = sum.generation();
  how.batch_size = static_cast<size_t>(cfg.train.eval_batch_size);
  how.with_lead = true;
  how.rouge = ro;
  how.bootstrap = cfg.eval.bootstrap;
  how.ci = cfg.eval.ci;
  how.seed = static_cast<uint64_t>(cfg.train.seed);
  const SummaryEvaluation ev = evaluate_summarizer(sum, *final_set, how, run, prefix, steps);
  write_run_charts(run.dir());
  std::printf("training: %lld steps in %.1f s\n", static_cast<long long>(steps), secs);
  std::printf("%s ROUGE F-measures on %s (%zu rows):\nmodel:\n%slead baseline (first sentence of the text):\n%s",
              prefix.substr(0, prefix.size() - 1).c_str(), final_set->file.c_str(), final_set->texts.size(),
              format_summary_scores(ev.model).c_str(), format_summary_scores(ev.lead_scores).c_str());
  std::fflush(stdout);
}
}  // namespace

int train_summarization(const TrainConfig& cfg, runs::Run& run, bool resume) {
  const auto t0 = std::chrono::steady_clock::now();
  if (cfg.model.type != "t5") {
    throw UsageError("task summarize needs model.type \"t5\", not \"" + cfg.model.type + "\"");
  }
  if (cfg.data.shuffle_buffer != 0) {
    throw UsageError("data.shuffle_buffer (streamed training data) is built for classification with bert or "
                     "distilbert; task summarize reads its training file into memory: leave it at 0");
  }
  const SummarySets d = read_sets(cfg, run);
  const c10::Device device = resolve_device(cfg.train.device);
  const std::string tok_dir = tokenizer_dir(cfg, d.train, run);
  auto tok = text::load_tokenizer(tok_dir);
  models::T5ForConditionalGeneration model = build_model(cfg, *tok, tok_dir, device, run);
  const models::GenerationOptions gen = greedy_options(cfg, model->config());
  const auto train_ex = encode_pairs(*tok, d.train, cfg);
  std::vector<train::Example> valid_ex;
  if (d.valid) valid_ex = encode_pairs(*tok, *d.valid, cfg);

  train::TrainerOptions o = trainer_options(cfg, run, device, model->config().pad_token_id);
  o.eval_at_epoch_end = cfg.train.eval_every <= 0;  // generation is slow: every N steps or each epoch, not both
  o.metric_for_best = cfg.train.metric;
  o.greater_is_better = cfg.train.metric_mode == "max";
  T5Trainable tm(model);
  const std::string model_dir = run.artifact_path("model");
  eval::RougeOptions ro;
  ro.use_stemmer = cfg.eval.rouge_stemmer;
  train::TrainerCallbacks cb;
  if (!valid_ex.empty()) {
    train::BatchingOptions bo = o.batching;
    bo.batch_size = cfg.train.eval_batch_size;
    bo.shuffle = false;
    const size_t gen_rows = cfg.eval.valid_rows > 0
                                ? std::min(valid_ex.size(), static_cast<size_t>(cfg.eval.valid_rows))
                                : valid_ex.size();
    cb.evaluate = Validator{model, tok.get(), &valid_ex, &*d.valid, bo, gen, gen_rows, ro, device};
  }
  log_curves(cb, cfg, run);
  auto save = [&](const std::string& dir) {
    models::save_t5(*model, dir);
    write_summarizer_files(dir, tok_dir, cfg.model.max_length, cfg.model.source_prefix, gen);
    record_model_columns(dir, columns_of_spec(cfg.data, "summarize"));
  };
  cb.save_model = [&](train::CheckpointKind kind, train::TrainableModel&) {
    save(kind == train::CheckpointKind::kBest ? model_dir : o.checkpoint_dir + "/last");
  };
  train::Trainer trainer(tm, train_ex, o, cb);
  train::TrainResult r = resume ? trainer.resume() : trainer.train();
  if (!dist::is_main()) return 0;  // under a launcher, rank 0 alone saves and scores
  run.log_metric("train/samples_per_s", r.samples_per_s, r.steps);
  save(model_dir);  // the model holds the best parameters now
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.log_metric("train/seconds", secs, r.steps);
  score_saved_model(cfg, d, run, model_dir, ro, r.steps, secs);
  return 0;
}

}  // namespace nlpc
