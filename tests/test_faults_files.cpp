// Hostile files through the real CLI: every reader refuses junk with exit code 3 and one line
// naming the file (never a crash, never exit 1); a tiny file that claims a huge size is refused
// without allocating it; and a kill -9 or a full disk while a checkpoint is written keeps the
// old checkpoint.
#include <doctest/doctest.h>

#include <cstring>

#include "data/game_file.hpp"
#include "tests/test_faults_support.hpp"
#include "util/checksum.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#if __has_include("model/import.hpp")
#include "model/checkpoint.hpp"
#endif

using namespace ogpt;
using namespace ogpt::faults;

namespace {
// A 60-byte game file whose one chunk claims 4 GiB of payload (the header crc is right).
std::string huge_chunk_claim() {
  std::string h(data::kGameHeaderBytes, '\0');
  std::memcpy(h.data(), data::kGameMagic, 8);
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(h.data() + at, &v, 4); };
  auto put64 = [&](size_t at, uint64_t v) { std::memcpy(h.data() + at, &v, 8); };
  put32(8, data::kGameFileVersion);
  put64(16, uint64_t{1} << 40);  // game count
  put32(40, 0xFFFFFFFFu);  // chunks of any size: the chunk claim is bounded only by the file
  put32(44, util::crc32(h.data(), 44));
  uint32_t chunk[3] = {70409300u, 0xFFFFFFF0u, 0};  // games, payload bytes (<= 61 per game), crc
  h.append(reinterpret_cast<const char*>(chunk), 12);
  return h + std::string(10, '\0');
}

// The refusal is the last line of stderr (a progress bar may come before it): one line,
// "othello-gpt: <file>: ...".
void check_refused(const CliResult& r, const std::string& file) {
  INFO("stderr: " << r.err);
  CHECK(r.code == kBadInput);
  REQUIRE(!r.err.empty());
  CHECK(r.err.back() == '\n');
  const size_t start = r.err.find_last_of('\n', r.err.size() - 2);
  const std::string last = r.err.substr(start == std::string::npos ? 0 : start + 1);
  CHECK(last.rfind("othello-gpt: ", 0) == 0);
  CHECK(last.find(file) != std::string::npos);
}
}  // namespace

TEST_CASE("faults: a tiny game file claiming a 4 GiB chunk is refused without allocating it") {
  ScratchDir d("huge-claim");
  const std::string in = d / "claim.games";
  util::write_file_atomic(in, huge_chunk_claim());
  ChildSetup small;
  if (!kAddressSanitizer) small.as_limit = rlim_t{1536} << 20;  // 1.5 GiB of address space
  auto r = run_cli({"export-games", "--in", in, "--out", d / "out.txt"}, d.path.string(), small);
  check_refused(r, in);
  CHECK(r.err.find("truncated") != std::string::npos);
  CHECK(r.err.find("byte offset") != std::string::npos);
}

TEST_CASE("faults: every reader refuses junk with exit code 3 and a line naming the file") {
  ScratchDir d("junk");
  // Junk of several shapes: empty, text, a wrong magic, random bytes.
  std::string random(3000, '\0');
  uint64_t x = 88172645463325252ull;
  for (auto& c : random) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  const std::vector<std::pair<std::string, std::string>> junk = {
      {"empty", ""}, {"text", "hello, world\n"}, {"magic", "OGPTGAME\x02\0\0\0"}, {"random", random}};
  for (auto& [tag, bytes] : junk) {
    const std::string f = d / ("junk-" + tag);
    util::write_file_atomic(f, bytes);
    INFO("junk " << tag);
    check_refused(run_cli({"export-games", "--in", f}, d.path.string()), f);
    if (tag != "empty")  // an empty .wtb is a valid-looking "no file"? no: 0 < 16 header bytes
      check_refused(run_cli({"import-wthor", f, "--out", d / "w.games"}, d.path.string()), f);
    if (tag == "random" || tag == "magic")  // text lists: empty and plain text lines differ
      check_refused(run_cli({"import-games", "--text", f, "--out", d / "t.games"}, d.path.string()), f);
#if __has_include("model/import.hpp")
    for (const char* ext : {".pth", ".safetensors"}) {
      const std::string g = f + ext;
      util::write_file_atomic(g, bytes);
      check_refused(run_cli({"import", "--from", g, "--out", d / "m.ckpt"}, d.path.string()), g);
    }
#endif
  }
  CHECK(!fs::exists(d.path / "w.games"));  // nothing written on a refusal
  CHECK(!fs::exists(d.path / "t.games"));
}

namespace {
size_t open_fds() {
  size_t n = 0;
  for (auto& e : fs::directory_iterator("/proc/self/fd")) n += !e.path().empty();
  return n;
}
}  // namespace

TEST_CASE("faults: refused files do not leak file descriptors") {
  ScratchDir d("fds");
  const std::string bad = d / "bad.games";
  util::write_file_atomic(bad, "OGPTGAME\x01\0\0\0 this header is short");
  const size_t before = open_fds();
  for (int i = 0; i < 50; ++i) {
    CHECK_THROWS_AS(data::GameReader r(bad), UserError);
    CHECK_THROWS_AS(data::read_all_games(d / "missing.games"), UserError);
  }
  CHECK(open_fds() == before);
}

#if __has_include("model/import.hpp")
TEST_CASE("faults: kill -9 or a full disk while writing a checkpoint keeps the old one") {
  ScratchDir d("ckpt");
  const std::string src = std::string(OGPT_SOURCE_DIR) + "/tests/fixtures/reference/model.pth";
  const std::string out = d / "model.ckpt", ref = d / "ref.ckpt";
  auto imp = [&](const std::string& o, const char* dtype) {
    return std::vector<std::string>{"import", "--from", src, "--out", o, "--dtype", dtype};
  };
  REQUIRE(run_cli(imp(out, "bf16"), d.path.string()).code == 0);
  const std::string old_bytes = slurp(out);
  auto r = run_cli(imp(ref, "f32"), d.path.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string new_bytes = slurp(ref);
  REQUIRE(new_bytes != old_bytes);

  const int kKills = 8;
  int killed = 0;
  for (int i = 0; i < kKills; ++i) {
    util::write_file_atomic(out, old_bytes);
    const double at = kill_moment(i, kKills, r.seconds, 23);
    const int st = run_cli_killed_after(imp(out, "f32"), at);
    killed += st == 128 + SIGKILL;
    INFO("kill " << i << " at " << at << " s of " << r.seconds << " s, status " << st);
    const std::string now = slurp(out);
    CHECK((now == old_bytes || now == new_bytes));
    auto c = model::load_checkpoint(out);  // and it loads (crc32 checked)
    CHECK(c.params.data.size() == model::param_count(c.params.cfg));
  }
  CHECK(killed >= 1);  // some kill landed before the import finished (else the loop proves nothing)
  MESSAGE("import: " << killed << " of " << kKills << " runs killed before they finished");

  ChildSetup full;
  full.fsize_limit = 4096;  // far smaller than the checkpoint
  util::write_file_atomic(out, old_bytes);
  auto f = run_cli(imp(out, "f32"), d.path.string(), full);
  CHECK(f.code == kIo);
  CHECK(f.err.find(out) != std::string::npos);
  CHECK(slurp(out) == old_bytes);
}
#endif

TEST_CASE("faults: refusal messages escape control bytes and invalid UTF-8, and are bounded") {
  // A crafted name in a file must not drive the terminal (ESC sequences) or break JSON replies.
  UserError e(std::string("x.pth: tensor '\x1b[2J\x07" "caf\xc3\xa9 \xff\xfe\xc0\xaf \xed\xa0\x80' is bad"));
  const std::string m = e.what();
  CHECK(m == "x.pth: tensor '\\x1b[2J\\x07caf\xc3\xa9 \\xff\\xfe\\xc0\\xaf \\xed\\xa0\\x80' is bad");
  for (unsigned char c : m) CHECK((c >= 0x20 && c != 0x7f));
  CHECK(e.code == kBadInput);
  // bounded: a 1 MB name is cut, saying how much was left out
  const std::string huge = printable("f: " + std::string(1 << 20, 'A'));
  CHECK(huge.size() < 2100);
  CHECK(huge.find("more bytes)") != std::string::npos);
  CHECK(printable("plain message, f5 d6") == "plain message, f5 d6");
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");      // an emoji stays
}

TEST_CASE("faults: a write removes the temporaries that killed writers of the same file left") {
  const std::string dir = "/tmp/ogpt_stale_tmp_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.ckpt";
  pid_t dead = ::fork();  // a pid that surely has no process: a child that has exited and been reaped
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = path + ".tmp." + std::to_string(dead);
  const std::string live = path + ".tmp." + std::to_string(::getppid());  // a live process: kept
  const std::string other = dir + "/other.ckpt.tmp." + std::to_string(dead);  // another file's: kept
  const std::string odd = path + ".tmp.notapid";
  for (const auto& f : {stale, live, other, odd}) util::write_file_atomic(f, "partial");
  util::write_file_atomic(path, "complete");
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(other));
  CHECK(std::filesystem::exists(odd));
  CHECK(util::read_file(path) == "complete");
  std::filesystem::remove_all(dir);
}

TEST_CASE("faults: --out through a symlink or onto a pipe keeps the link and the pipe, and a directory is refused") {
  ScratchDir d("outkinds");
  // A symlink: the target is replaced, the link stays a link (renaming over it would not).
  const std::string target = d / "target.txt", link = d / "link.txt";
  util::write_file_atomic(target, "old");
  fs::create_symlink(target, link);
  util::write_file_atomic(link, "new");
  CHECK(fs::is_symlink(link));
  CHECK(util::read_file(target) == "new");
  // A pipe stands for a device such as /dev/null (which, as root, must never be replaced by a
  // file): written in place. The reader is opened first, non-blocking, so the writer's open
  // succeeds and a regression fails the check below instead of hanging.
  const std::string fifo = d / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(rd >= 0);
  util::write_file_atomic(fifo, "through the pipe");
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  char buf[64] = {};
  CHECK(::read(rd, buf, sizeof buf) == 16);
  CHECK(std::string(buf) == "through the pipe");
  ::close(rd);
  // A directory: refused on write and on read, naming it.
  CHECK_THROWS_WITH_AS(util::write_file_atomic(d.path.string(), "x"), doctest::Contains("is a directory"), IoError);
  CHECK_THROWS_WITH_AS(util::read_file(d.path.string()), doctest::Contains("is a directory"), IoError);
  CHECK_THROWS_WITH_AS(data::GameReader(d.path.string()), doctest::Contains("is a directory"), IoError);
}

TEST_CASE("faults: check_writable refuses exactly what the final write would refuse, and creates nothing") {
  ScratchDir d("writable");
  util::write_file_atomic(d / "file.txt", "keep");
  const std::string fifo = d / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_symlink(d / "file.txt", d / "link.txt");
  fs::create_directory(d / "sub");
  util::write_file_atomic(d / "sub/inner.txt", "inner");
  fs::create_symlink(d / "sub/inner.txt", d / "outer-link.txt");  // its temporary goes into sub/
  fs::create_symlink(d / "loop", d / "loop");
  struct Case {
    std::string path, refusal;  // refusal: empty when the write succeeds
  };
  const std::vector<Case> cases = {
      {d / "new.svg", ""},
      {d / "file.txt", ""},
      {d / "link.txt", ""},
      {d / "outer-link.txt", ""},
      {fifo, ""},  // a pipe is written in place (check_writable does not open it: no reader needed)
      {d.path.string(), "is a directory"},
      {d / "missing/x.svg", "does not exist"},
      {d / "file.txt/x.svg", "is not a directory"},
      {"", "empty path"},
      {d / "loop", "cannot resolve the link"},
  };
  for (const Case& c : cases) {
    INFO(c.path);
    if (c.refusal.empty()) {
      CHECK_NOTHROW(util::check_writable(c.path));
    } else {
      CHECK_THROWS_WITH_AS(util::check_writable(c.path), doctest::Contains(c.refusal.c_str()), IoError);
      CHECK_THROWS_AS(util::write_file_atomic(c.path, "x"), IoError);  // the write agrees
    }
  }
  CHECK_FALSE(fs::exists(d / "new.svg"));
  CHECK(util::read_file(d / "file.txt") == "keep");
  for (const auto& e : fs::directory_iterator(d.path))  // no temporary left behind
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  if (::geteuid() != 0) {  // root may write anywhere
    fs::create_directory(d / "ro");
    fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH_AS(util::check_writable(d / "ro/x.svg"), doctest::Contains("Permission denied"), IoError);
    CHECK_THROWS_AS(util::write_file_atomic(d / "ro/x.svg", "x"), IoError);
    fs::permissions(d / "ro", fs::perms::owner_all);
  }
  // the successful cases do write
  util::write_file_atomic(d / "new.svg", "ok");
  CHECK(util::read_file(d / "new.svg") == "ok");
}

TEST_CASE("faults: export-games refuses bytes after the last game, import-wthor keeps --out when it accepts none") {
  ScratchDir d("tails");
  const std::string g = d / "g.games";
  auto r = run_cli({"generate", "--games", "3", "--seed", "1", "--out", g}, d.path.string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string bytes = slurp(g);
  util::write_file_atomic(g, bytes + "x");
  r = run_cli({"export-games", "--in", g}, d.path.string());
  CHECK(r.code == kBadInput);
  CHECK(r.err.find("after the last game") != std::string::npos);
  // A WTHOR file whose only game is illegal: nothing accepted, the existing --out untouched.
  const std::string keep = d / "keep.games";
  util::write_file_atomic(keep, bytes);
  std::string wtb(16, '\0');
  wtb[4] = 1;           // one game
  wtb[12] = 8;          // board size 8
  std::string game(68, '\0');
  game[8] = 11;         // a1 as the first move: illegal
  util::write_file_atomic(d / "bad.wtb", wtb + game);
  r = run_cli({"import-wthor", d / "bad.wtb", "--out", keep}, d.path.string());
  CHECK(r.code != 0);
  CHECK(r.err.find("nothing written") != std::string::npos);
  CHECK(slurp(keep) == bytes);
}
