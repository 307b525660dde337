// Fuzzes the WTHOR (.wtb) reader. Properties: accepted games replay legally; accepted + rejected
// = the header's count; each rejection's message names the file.
#include "data/game_file.hpp"
#include "data/wthor.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  const std::string name = "fuzz.wtb";
  try {
    auto f = data::parse_wthor(std::string_view(reinterpret_cast<const char*>(data), size), name);
    fuzz::check(f.games.size() + f.rejected.size() == f.header.n_games, "games + rejected != count");
    for (auto& g : f.games) fuzz::check(data::find_illegal_move(g.game) < 0, "illegal game accepted");
    for (auto& r : f.rejected) fuzz::check_refusal(UserError(r.message()), name);
  } catch (const UserError& e) {
    fuzz::check_refusal(e, name);
  }
  return 0;
}
