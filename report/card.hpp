#pragma once
// The model card written beside a trained model (DIR/card.json, DIR/curve.svg): how it was
// trained and how it scored on held-out games at the end of training. The tour shows these
// figures labelled as the card's (measured by the training run, not by the tour).
//
// card.json keys: preset, seed, target, games_seen, steps, train_wall_hours, machine,
// heldout{seed, games, positions, legal_top1, loss, entropy_floor, excess_loss}, curve_svg, log_csv.
// Every key is optional; a missing or unreadable card is not an error (the section is skipped
// with a note saying why).
#include <string>

#include <nlohmann/json.hpp>

namespace ogpt::report {

struct ModelCard {
  bool found = false;       // card.json was read and parsed
  std::string path;         // card.json looked for
  std::string note;         // why something is missing (empty when all is there)
  nlohmann::json card;      // the parsed card (null when !found)
  std::string curve_svg;    // the training curve picture, ready to inline (empty when missing)
  std::string curve_path;
};

// The directory a --model argument lives in: the directory itself, or a checkpoint's folder.
std::string model_dir_of(const std::string& resolved_checkpoint);

// Reads DIR/card.json and the curve it names (default DIR/curve.svg, which a training run
// directory has even without a card). Never throws for a missing or malformed card or curve:
// found = false / curve_svg empty, and note says why.
ModelCard load_card(const std::string& dir);

// An SVG document cleaned for inlining into HTML: the XML prologue and doctype dropped, refused
// (empty result) unless it is one <svg>...</svg> element without scripts or external references.
std::string inline_svg(const std::string& svg);

// Prefixes every id="X" of an SVG (and its url(#X) / href="#X" references) with `prefix`, so
// that several inline SVGs in one HTML page (e.g. two plots that both define a clip path "clip0")
// do not use each other's definitions.
std::string scope_svg_ids(const std::string& svg, const std::string& prefix);

}  // namespace ogpt::report
