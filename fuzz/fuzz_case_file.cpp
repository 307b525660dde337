// Fuzzes the intervention case-set reader (interventions/case_file.hpp: `intervene bench
// --cases-file`). The payload is guarded by a length and a crc32 in the header; half the inputs
// (first byte odd) get both repaired so that mutations reach the cases. Properties: every case
// accepted is one the bench can score (a legal prefix of 1..59 moves, a cell on the board, a kind
// that describes the edit), and the format is canonical: writing the cases back gives the input.
#include "fuzz/fuzz_common.hpp"
#include "interventions/case_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ogpt;
  using namespace ogpt::interventions;
  if (size == 0) return 0;
  const std::string b = fuzz::file_with_mended_header(data, size);
  const std::string name = "fuzz.cases";
  try {
    const auto cases = cases_from_bytes(b, name);
    for (const EditCase& c : cases) {
      fuzz::check(!c.moves.empty() && c.moves.size() <= 59, "a case's prefix is not 1..59 moves");
      fuzz::check(c.cell >= 0 && c.cell < 64, "a case's cell is off the board");
      othello::Board after;
      try {
        after = board_after(c.moves);
      } catch (const UserError&) {
        fuzz::check(false, "an accepted case's prefix does not replay");
      }
      const CellState now = get_cell_state(after, c.cell);
      fuzz::check(now != CellState::empty && now != c.target, "a case edits a cell to the state it has");
      fuzz::check((c.kind == CaseKind::erase) == (c.target == CellState::empty), "a case's kind does not match its edit");
    }
    fuzz::check(cases_to_bytes(cases) == b, "writing the cases back does not give the input");
  } catch (const UserError& e) {
    fuzz::check_refusal(e, name);
  }
  return 0;
}
