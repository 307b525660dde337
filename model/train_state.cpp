#include "model/train_state.hpp"

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstring>
#include <sstream>

#include "util/cereal_bounded.hpp"
#include "util/error.hpp"

namespace ogpt::model {

namespace {
constexpr char kMagic[8] = {'O', 'G', 'P', 'T', 'T', 'R', 'S', 'T'};

std::string str(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
}  // namespace

std::string encode_train_state(const TrainState& s) {
  std::ostringstream o(std::ios::binary);
  o.write(kMagic, 8);
  uint32_t version = kTrainStateVersion;
  o.write(reinterpret_cast<const char*>(&version), 4);
  {
    cereal::BinaryOutputArchive ar(o);
    ar(s);
    ar(s.run.legal_target);  // version 2
    ar(static_cast<uint8_t>(s.run.optimizer));  // version 3
    ar(s.run.decay_games);  // version 4
  }
  return std::move(o).str();
}

TrainState decode_train_state(std::string_view blob, const std::string& path) {
  if (blob.size() < 12 || std::memcmp(blob.data(), kMagic, 8) != 0)
    throw UserError(path + ": holds no training state (not a checkpoint written by `train`); "
                    "it can be evaluated but not resumed");
  uint32_t version;
  std::memcpy(&version, blob.data() + 8, 4);
  if (version == 0 || version > kTrainStateVersion)
    throw UserError(path + ": training state version " + std::to_string(version) +
                    " (this build reads up to " + std::to_string(kTrainStateVersion) + ")");
  TrainState s;
  try {
    const util::BoundedLoad bound(blob.size());  // no length in it may claim more than the blob holds
    std::istringstream in(std::string(blob.substr(12)), std::ios::binary);
    cereal::BinaryInputArchive ar(in);
    ar(s);
    if (version >= 2) util::load_bool(ar, s.run.legal_target, "the target flag");
    if (version >= 3) {
      uint8_t o = 0;
      ar(o);
      if (o > static_cast<uint8_t>(Optimizer::muon)) throw std::runtime_error("unknown optimizer " + std::to_string(o));
      s.run.optimizer = static_cast<Optimizer>(o);
    }
    if (version >= 4) ar(s.run.decay_games);
  } catch (const std::exception& e) {
    throw UserError(path + ": training state is truncated or corrupt (" + e.what() + ")");
  }
  if (!s.run.cfg.plausible())
    throw UserError(path + ": training state is corrupt (model shape " + s.run.cfg.describe() + ")");
  return s;
}

RunConfig merge_resume(const RunConfig& stored, const RunConfig& req,
                       const std::set<std::string>& given, const std::string& dir) {
  RunConfig out = stored;
  std::string diffs;
  auto check = [&](const char* name, bool differs, const std::string& was, const std::string& now) {
    if (!given.count(name) || !differs) return;
    diffs += std::string(diffs.empty() ? "" : "; ") + "--" + name + " " + now + " (the run has " + was + ")";
  };
  check("preset", req.preset != stored.preset, stored.preset, req.preset);
  check("batch", req.batch != stored.batch, std::to_string(stored.batch), std::to_string(req.batch));
  check("seed", req.seed != stored.seed, std::to_string(stored.seed), std::to_string(req.seed));
  check("val-seed", req.val_seed != stored.val_seed, std::to_string(stored.val_seed), std::to_string(req.val_seed));
  check("val-games", req.val_games != stored.val_games, std::to_string(stored.val_games), std::to_string(req.val_games));
  check("games-file", req.games_file != stored.games_file,
        stored.games_file.empty() ? "fresh random games" : stored.games_file, req.games_file);
  auto tgt = [](bool legal) { return std::string(legal ? "legal" : "next-move"); };
  check("target", req.legal_target != stored.legal_target, tgt(stored.legal_target), tgt(req.legal_target));
  check("precision", req.bf16 != stored.bf16, stored.bf16 ? "bf16" : "f32", req.bf16 ? "bf16" : "f32");
  check("optimizer", req.optimizer != stored.optimizer, optimizer_name(stored.optimizer), optimizer_name(req.optimizer));
  check("lr", req.schedule.lr != stored.schedule.lr, str(stored.schedule.lr), str(req.schedule.lr));
  check("warmup", req.schedule.warmup_steps != stored.schedule.warmup_steps,
        std::to_string(stored.schedule.warmup_steps), std::to_string(req.schedule.warmup_steps));
  check("lr-floor", req.schedule.floor_frac != stored.schedule.floor_frac, str(stored.schedule.floor_frac),
        str(req.schedule.floor_frac));
  check("beta1", req.hyper.beta1 != stored.hyper.beta1, str(stored.hyper.beta1), str(req.hyper.beta1));
  check("beta2", req.hyper.beta2 != stored.hyper.beta2, str(stored.hyper.beta2), str(req.hyper.beta2));
  check("eps", req.hyper.eps != stored.hyper.eps, str(stored.hyper.eps), str(req.hyper.eps));
  check("wd", req.hyper.weight_decay != stored.hyper.weight_decay, str(stored.hyper.weight_decay),
        str(req.hyper.weight_decay));
  check("clip", req.hyper.clip != stored.hyper.clip, str(stored.hyper.clip), str(req.hyper.clip));
  if (given.count("games")) out.total_games = req.total_games;  // longer or shorter: the cosine is re-planned
  if (given.count("decay-games")) out.decay_games = req.decay_games;
  if (!diffs.empty())
    throw UserError("cannot resume " + dir + " with a different run configuration: " + diffs +
                        ". Drop these options to continue the run as it was, or train into a new --out",
                    kUsage);
  out.plan_schedule();
  return out;
}

}  // namespace ogpt::model
