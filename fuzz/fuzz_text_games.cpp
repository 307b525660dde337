// Fuzzes the text game-list reader (data/text_games.hpp), both strict and with skip_bad.
// Properties: accepted games replay legally; each rejection names the file and its line.
#include "data/game_file.hpp"
#include "data/text_games.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string name = "fuzz.txt";
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool skip_bad : {false, true}) {
    try {
      auto t = data::parse_text_games(text, name, skip_bad);
      for (auto& g : t.games) fuzz::check(data::find_illegal_move(g) < 0, "illegal game accepted");
      for (auto& r : t.rejected) {
        fuzz::check_refusal(UserError(r.message), name);
        fuzz::check(r.message.find("line " + std::to_string(r.line)) != std::string::npos, "no line number");
      }
    } catch (const UserError& e) {
      fuzz::check_refusal(e, name);
    }
  }
  return 0;
}
