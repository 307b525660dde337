// othello-gpt: one binary, git-style subcommands. No science lives here: each subcommand parses
// its arguments, calls the modules, and prints tables / JSON / SVG.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>

#include "cli/registry.hpp"
#include "util/error.hpp"

namespace ogpt::cli {

std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}

Command::Command(std::string name, std::string help, Setup setup) {
  registry().push_back({std::move(name), std::move(help), std::move(setup)});
}

std::string default_model_path() { return std::string(OGPT_SOURCE_DIR) + "/data/default"; }

// CLI11 2.1 reads "-1" into an unsigned option as 2^64-1 (strtoull wraps), so `--seed -1` or
// `--limit -1` would run as something else in silence. Every unsigned option of every
// subcommand refuses a leading minus instead; new options get the check without asking.
void refuse_negative_unsigned(CLI::App& app) {
  const CLI::Validator no_minus(
      [](std::string& s) {
        const size_t i = s.find_first_not_of(" \t");
        return i != std::string::npos && s[i] == '-' ? "got " + s + ": a negative number? it must be >= 0"
                                                     : std::string();
      },
      "", "no_minus");
  for (CLI::Option* o : app.get_options())
    if (o->get_type_name().rfind("UINT", 0) == 0) o->check(no_minus);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_negative_unsigned(*sub);
}

}  // namespace ogpt::cli

int main(int argc, char** argv) {
  using namespace ogpt;
  CLI::App app{"othello-gpt: train Othello-GPT, probe its board, edit it, and check the legal moves"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "othello-gpt 0.1");
  auto& reg = cli::registry();
  std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, cli::Action> actions;
  for (auto& r : reg) {
    CLI::App* sub = app.add_subcommand(r.name, r.help);
    actions[sub] = r.setup(*sub);
  }
  cli::refuse_negative_unsigned(app);
  // A usage error is one line, like every other error: who complained, what, where help is.
  // (CLI11's default adds a second line, "Run with --help for more information.")
  app.failure_message([](const CLI::App* top, const CLI::Error& e) {
    std::string who = "othello-gpt";
    for (const CLI::App* a = top; !a->get_subcommands().empty();) {
      a = a->get_subcommands().front();  // the subcommand being parsed, e.g. "intervene bench"
      who += " " + a->get_name();
    }
    std::string what = e.what();
    // `othello-gpt frobnicate` or `othello-gpt --frobnicate`: CLI11 says "A subcommand is
    // required"; name the word it did not know, or list the subcommands when none was given.
    if (top->get_subcommands().empty()) {
      const auto rest = top->remaining();
      if (!rest.empty())
        what = (rest.front().rfind('-', 0) == 0 ? "unknown option '" : "unknown subcommand '") +
               rest.front() + "'";
      else if (dynamic_cast<const CLI::RequiredError*>(&e)) {
        what = "a subcommand is required: one of";
        for (const CLI::App* s : top->get_subcommands({}))
          what += " " + s->get_name();
      }
    }
    return who + ": " + what + " (" + who + " --help lists the options)\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  }
  try {
    for (auto& [sub, act] : actions)
      if (sub->parsed()) {
        const int rc = act();
        // Results on a full disk or closed pipe must not end in exit 0: stdio reports a failed
        // write only at the flush.
        errno = 0;
        if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
          std::fprintf(stderr, "othello-gpt: cannot write standard output: %s\n",
                       errno ? std::strerror(errno) : "write error");
          return kIo;
        }
        return rc;
      }
    return kUsage;
  } catch (const UserError& e) {
    std::fprintf(stderr, "othello-gpt: %s\n", e.what());
    return e.code;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "othello-gpt: out of memory\n");
    return kInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "othello-gpt: internal error: %s\n", e.what());
    return kInternal;
  }
}
