// Help text and parse errors shared by every subcommand (see commands.h): option names without
// CLI11's "{false}" flag defaults and without hidden aliases, the exit-code footer on every help
// page, and "did you mean" for unknown subcommands and flags.
#include <filesystem>
#include <set>
#include <utility>
#include <sstream>

#include "commands.h"
#include "nlpc/core/config.h"

namespace nlpc::cli {
namespace {
// (option, long name without the dashes) of every hidden alias: per option, since the same name
// may be an old alias in one subcommand (eval's --format) and the current name in another.
std::set<std::pair<const CLI::Option*, std::string>>& aliases() {
  static std::set<std::pair<const CLI::Option*, std::string>> a;
  return a;
}
bool is_alias(const CLI::Option* opt, const std::string& name) { return aliases().count({opt, name}) > 0; }

const char* const kExitCodes =
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input, 3 evaluation gate failed, 130/143 interrupted.";

class Formatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    if (positional) return CLI::Formatter::make_option_name(opt, true);
    std::string out;
    for (const auto& s : opt->get_snames()) out += (out.empty() ? "-" : ", -") + s;
    for (const auto& l : opt->get_lnames()) {
      if (!is_alias(opt, l)) out += (out.empty() ? "--" : ", --") + l;
    }
    return out;
  }
  std::string make_footer(const CLI::App* app) const override {
    const std::string own = app->get_footer();  // CLI11 puts a blank line before the footer
    return (own.empty() ? std::string() : own + "\n\n") + kExitCodes + "\n";
  }
};

// The closest candidate to `word`: a unique one it is a prefix of, else one within 2 edits (1 for
// words of 3 characters or fewer); "" when none.
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = word.size() <= 3 ? 2 : 3;
  int prefixed = 0;
  std::string prefix_match;
  for (const auto& c : candidates) {
    if (c.size() > word.size() && c.compare(0, word.size(), word) == 0) {
      ++prefixed;
      prefix_match = c;
    }
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best.empty() && prefixed == 1 && word.size() >= 3) return prefix_match;
  return best;
}

const CLI::App* deepest_parsed(const CLI::App* app) {
  for (const CLI::App* sub : app->get_subcommands()) return deepest_parsed(sub);
  return app;
}

std::string command_path(const CLI::App* app) {
  std::string p;
  for (; app != nullptr; app = app->get_parent()) {
    // the root's name is argv[0] (e.g. build/nlpc): its file name
    const std::string name = app->get_parent() ? app->get_name() : std::filesystem::path(app->get_name()).filename().string();
    p = name + (p.empty() ? "" : " " + p);
  }
  return p;
}
}  // namespace

void install_formatter(CLI::App& app) { app.formatter(std::make_shared<Formatter>()); }

CLI::Option* hidden_alias(CLI::Option* opt, const std::string& alias) {
  aliases().insert({opt, alias.rfind("--", 0) == 0 ? alias.substr(2) : alias});
  return opt;
}

std::string explain_extras(const CLI::App& app) {
  const CLI::App* where = deepest_parsed(&app);
  const std::vector<std::string> extras = app.remaining(true);
  std::vector<std::string> flags, subs;
  for (const CLI::Option* o : where->get_options()) {
    for (const auto& l : o->get_lnames()) {
      if (!is_alias(o, l)) flags.push_back("--" + l);
    }
  }
  for (const CLI::App* s : where->get_subcommands([](const CLI::App*) { return true; })) subs.push_back(s->get_name());
  std::ostringstream os;
  if (!extras.empty()) {  // the first one: what follows an unknown subcommand or flag is its arguments
    const std::string& e = extras.front();
    const bool is_flag = e.size() > 1 && e[0] == '-';
    const std::string name = is_flag ? e.substr(0, e.find('=')) : e;
    os << "error: unknown " << (is_flag ? "flag " : subs.empty() ? "argument " : "subcommand ") << name
       << " for '" << command_path(where) << "'";
    const std::string hint = closest(name, is_flag ? flags : subs);
    if (!hint.empty()) os << "; did you mean " << hint << "?";
    os << "\n";
  }
  os << "Run '" << command_path(where) << " --help' for the flags and subcommands.\n";
  return os.str();
}

}  // namespace nlpc::cli
