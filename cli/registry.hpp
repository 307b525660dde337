#pragma once
// Git-style subcommands register themselves: each cli/cmd_*.cpp defines
//   static ogpt::cli::Command reg("perft", "Count leaf positions ...", [](CLI::App& sub) {
//     ... add options ...; return [&]() -> int { ... run ...; return 0; };
//   });
// so adding a subcommand never touches main.cpp. The setup function adds options to `sub`
// and returns the action run when that subcommand is chosen (its return value = exit code).
// Errors: throw ogpt::UserError (message + exit code); main prints "othello-gpt: <message>".
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ogpt::cli {

using Action = std::function<int()>;
using Setup = std::function<Action(CLI::App&)>;

struct Command {
  Command(std::string name, std::string help, Setup setup);
};

struct Registered {
  std::string name, help;
  Setup setup;
};
std::vector<Registered>& registry();

// The default model/probe directory shipped in the repository (data/), for --model omitted.
std::string default_model_path();

}  // namespace ogpt::cli
