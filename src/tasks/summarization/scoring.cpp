// Reading text/target pairs, the lead baseline and ROUGE scoring with bootstrap intervals
// (torch-free parts of `task: summarize`).
#include <cstdio>
#include <map>

#include "nlpc/tasks/classification/scoring.h"
#include "nlpc/tasks/summarization/summarize.h"
#include "nlpc/core/error.h"
#include "nlpc/core/log.h"
#include "nlpc/eval/bootstrap.h"
#include "nlpc/io/table.h"

namespace nlpc {
namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string collapse_spaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (is_space(c)) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string lead_sentence(const std::string& text) {
  size_t end = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || is_space(text[i + 1]))) {
      end = i + 1;
      break;
    }
    if (c == '\n') {  // a blank line ends a paragraph (and its sentence)
      size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
      if (j < text.size() && text[j] == '\n') {
        end = i;
        break;
      }
    }
  }
  return collapse_spaces(text.substr(0, end));
}

SummaryScores score_summaries(const std::vector<std::string>& targets, const std::vector<std::string>& predictions,
                              const eval::RougeOptions& rouge, int64_t bootstrap, double ci, uint64_t seed) {
  eval::RougeCorpus c = eval::rouge_corpus(targets, predictions, rouge);
  SummaryScores s;
  s.metrics.set("rouge1", c.rouge1);
  s.metrics.set("rouge2", c.rouge2);
  s.metrics.set("rougeL", c.rougeL);
  s.metrics.set("rougeLsum", c.rougeLsum);
  if (bootstrap > 0) {
    const auto& pe = c.per_example;
    auto fn = [&pe](const std::vector<int64_t>& rows) {
      double r1 = 0, r2 = 0, rl = 0, rls = 0;
      for (int64_t r : rows) {
        const auto& x = pe[static_cast<size_t>(r)];
        r1 += x.rouge1.fmeasure;
        r2 += x.rouge2.fmeasure;
        rl += x.rougeL.fmeasure;
        rls += x.rougeLsum.fmeasure;
      }
      const double n = static_cast<double>(rows.size());
      eval::MetricSet m;
      m.set("rouge1", r1 / n);
      m.set("rouge2", r2 / n);
      m.set("rougeL", rl / n);
      m.set("rougeLsum", rls / n);
      return m;
    };
    eval::BootstrapOptions bo;
    bo.resamples = bootstrap;
    bo.ci = ci;
    bo.seed = seed;
    s.intervals = eval::bootstrap(static_cast<int64_t>(pe.size()), fn, bo);
  }
  return s;
}

std::string format_summary_scores(const SummaryScores& s) {
  return eval::format_metric_lines(s.metrics, s.intervals, /*aggregate_only=*/false);
}

}  // namespace nlpc
