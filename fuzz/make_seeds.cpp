// make_fuzz_seeds DIR: writes small valid inputs of every format the fuzz targets read into
// DIR/<target>/, the seed corpora scripts/fuzz.sh starts from. Everything is made here (random
// games from the project's own generator) so no large file is committed.
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/game.hpp"
#include "data/game_file.hpp"
#include "data/text_games.hpp"
#include "data/wthor.hpp"
#include "model/safetensors.hpp"
#include "othello/game_record.hpp"
#ifdef OGPT_HAVE_CHECKPOINT
#include "model/checkpoint.hpp"
#endif
#ifdef OGPT_HAVE_PROBE_FILE
#include "probes/probe_file.hpp"
#endif
#ifdef OGPT_HAVE_CASE_FILE
#include "interventions/case_file.hpp"
#endif

namespace fs = std::filesystem;
using namespace ogpt;

static void put(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// fuzz_game_file and fuzz_checkpoint read a selector byte first (odd: repair the crc32s), then
// the file: each seed is stored both ways.
static void put_with_selector(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  put(p.string() + ".raw", std::string(1, '\0') + bytes);
  put(p, std::string(1, '\1') + bytes);
}

static std::vector<data::Game> some_games(int n) {
  std::vector<data::Game> g(n);
  data::generate_games(7, 0, n, g.data(), 1);
  return g;
}

static std::string wthor_bytes(const std::vector<data::Game>& games) {
  std::string b(data::kWthorHeaderBytes, '\0');
  b[0] = 20, b[1] = 24, b[2] = 1, b[3] = 1;
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<char>((games.size() >> (8 * i)) & 0xff);
  b[10] = static_cast<char>(2024 & 0xff), b[11] = static_cast<char>(2024 >> 8), b[12] = 8;
  for (auto& g : games) {
    std::string r(data::kWthorRecordBytes, '\0');
    r[0] = 1, r[2] = 2, r[4] = 3, r[6] = 33, r[7] = 33;
    for (int t = 0; t < g.length; ++t) r[8 + t] = static_cast<char>(data::wthor_code(g.moves[t]));
    b += r;
  }
  return b;
}

// A safetensors file with non-f32 dtypes, written by hand (encode_safetensors writes f32 only).
static std::string mixed_safetensors() {
  std::string h = R"({"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},)"
                  R"("c":{"dtype":"F16","shape":[],"data_offsets":[24,26]},)"
                  R"("__metadata__":{"format":"pt"}})";
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  for (int i = 0; i < 26; ++i) out += static_cast<char>(i * 37 + 1);
  return out;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  for (auto t : {"game_record", "game_file", "wthor", "safetensors", "checkpoint", "pth", "pickle", "text_games", "probe_file",
                 "case_file", "http_request"})
    fs::create_directories(dir / t);
  auto games = some_games(8);

  // Text records: plain, spaced, upper case, short, and one with an explicit pass if found.
  for (int i = 0; i < 4; ++i) {
    auto sq = std::vector<int>(games[i].moves.begin(), games[i].moves.begin() + games[i].length);
    put(dir / "game_record" / ("rec" + std::to_string(i)), othello::format_game(sq, i % 2 == 1));
  }
  put(dir / "game_record" / "short", "f5d6c3");
  put(dir / "game_record" / "upper", "F5 D6 C3 D3 C4");
  std::string list = "# games\n\n";
  for (int i = 0; i < 3; ++i) list += data::game_to_text(games[i], i == 1) + "\n";
  put(dir / "text_games" / "list.txt", list + "f5d6c3d3c4\r\n");

  // Game files: empty, one game, several chunks.
  data::write_games((dir / "game_file" / "empty.games").string(), {});
  data::write_games((dir / "game_file" / "one.games").string(), {games[0]});
  data::GameFileInfo info;
  info.games_per_chunk = 3;
  info.flags = data::kFlagSynthetic;
  info.seed = 7;
  data::write_games((dir / "game_file" / "chunks.games").string(), games, info);
  for (auto f : {"empty.games", "one.games", "chunks.games"}) put_with_selector(dir / "game_file" / f);

  // WTHOR: no game, two games, and one record cut short (a resignation).
  put(dir / "wthor" / "empty.wtb", wthor_bytes({}));
  put(dir / "wthor" / "two.wtb", wthor_bytes({games[0], games[1]}));
  auto cut = games[2];
  cut.length = 20;
  put(dir / "wthor" / "cut.wtb", wthor_bytes({cut}));

  // safetensors: f32 with metadata, and the other dtypes.
  model::Tensor a, b;
  a.shape = {2, 3};
  a.data = {1, 2, 3, 4, 5, 6};
  b.shape = {1};
  b.data = {-0.5f};
  put(dir / "safetensors" / "f32.safetensors", model::encode_safetensors({{"W_E", a}, {"b_U", b}}, {{"k", "v"}}));
  put(dir / "safetensors" / "mixed.safetensors", mixed_safetensors());

#ifdef OGPT_HAVE_CHECKPOINT
  model::Config cfg;
  cfg.n_layers = 1, cfg.d_model = 8, cfg.n_heads = 2, cfg.d_head = 4, cfg.d_mlp = 16;
  model::ParamBlock p(cfg);
  model::init_params(p, 1);
  model::save_checkpoint((dir / "checkpoint" / "f32.ckpt").string(), p, model::WeightDtype::f32);
  model::save_checkpoint((dir / "checkpoint" / "bf16.ckpt").string(), p, model::WeightDtype::bf16, "extra");
  put_with_selector(dir / "checkpoint" / "f32.ckpt");
  put_with_selector(dir / "checkpoint" / "bf16.ckpt");
#endif
#ifdef OGPT_HAVE_PROBE_FILE
  for (auto kind : {probes::Kind::linear, probes::Kind::mlp}) {
    const std::string f = (dir / "probe_file" / (kind == probes::Kind::mlp ? "mlp.probe" : "linear.probe")).string();
    probes::save_probe(f, probes::make_probe(kind, probes::Target::mine_theirs, 4, 3, 1));
    put_with_selector(f);
  }
#endif
#ifdef OGPT_HAVE_CASE_FILE
  // Case sets: a flip and an erase after each of a game's first 12 moves (the first occupied
  // cell that is not a centre square), both sets, proven or not; and an empty set.
  {
    std::vector<interventions::EditCase> cases;
    const auto& g = games[0];
    for (int n = 1; n <= 12 && n <= g.length; ++n) {
      interventions::EditCase c;
      c.moves.assign(g.moves.begin(), g.moves.begin() + n);
      const othello::Board b = interventions::board_after(c.moves);
      for (int cell = 0; cell < 64; ++cell) {
        const auto now = interventions::get_cell_state(b, cell);
        if (now == interventions::CellState::empty || othello::is_centre(cell)) continue;
        c.cell = cell;
        c.set = n % 2 ? interventions::CaseSet::reachable : interventions::CaseSet::unreachable;
        c.proven = n % 3 != 0;
        c.kind = interventions::CaseKind::flip;
        c.target = now == interventions::CellState::mine ? interventions::CellState::theirs : interventions::CellState::mine;
        cases.push_back(c);
        c.kind = interventions::CaseKind::erase;
        c.target = interventions::CellState::empty;
        cases.push_back(c);
        break;
      }
    }
    interventions::save_cases((dir / "case_file" / "some.cases").string(), cases);
    interventions::save_cases((dir / "case_file" / "none.cases").string(), {});
    put_with_selector(dir / "case_file" / "some.cases");
    put_with_selector(dir / "case_file" / "none.cases");
  }
#endif
#ifdef OGPT_HAVE_HTTP_REQUEST
  // The explorer's API: "METHOD PATH\n" then the body (fuzz_http_request.cpp).
  const char* requests[] = {
      "GET /api/info\n",
      "GET /\n",
      "POST /api/state\n{}",
      "POST /api/state\n{\"moves\": \"f5 d6 c3 d3 c4\", \"upto\": 3}",
      "POST /api/state\n{\"moves\": [\"f5\", \"f6\", \"e6\", \"f4\"]}",
      "POST /api/probe\n{\"moves\": \"f5 d6 c3\", \"layer\": 1, \"basis\": \"mine-theirs\", \"kind\": \"linear\"}",
      "POST /api/probe\n{\"moves\": \"f5 d6\", \"layer\": 2, \"basis\": \"legal\", \"kind\": \"mlp\"}",
      "POST /api/intervene\n{\"moves\": \"f5 d6 c3\", \"cell\": \"d4\", \"to\": \"empty\", \"method\": \"linear\"}",
      "POST /api/intervene\n{\"moves\": \"f5\", \"cell\": \"e4\", \"to\": \"mine\", \"method\": \"gradient\", "
      "\"layer\": 2}",
      "POST /api/intervene\n{\"moves\": [\"f5\", \"d6\"], \"upto\": 1, \"cell\": \"f5\", \"to\": \"theirs\"}"};
  int k = 0;
  for (const char* r : requests) put(dir / "http_request" / ("req" + std::to_string(k++)), r);
#endif
  std::printf("seeds written to %s\n", dir.c_str());
  return 0;
}
