#pragma once
// Widen a trained model without changing what it computes (Net2Net, Chen et al. 2016), so that a
// wider model (e.g. the paper's 8x512) can start from the shipped 8x256 instead of from scratch.
//
// The wider model computes the same function as the narrow one, up to float rounding:
//   residual stream  d_model -> k * d_model: every writer (W_E, W_pos, W_O, b_O, W_out, b_out)
//                    writes k identical copies of the old stream. LayerNorm of k copies of x is k
//                    copies of LayerNorm(x) (same mean, same population variance), so LN weights
//                    are copied too. Every reader (W_Q/W_K/W_V, W_in, W_U) sees k copies of its
//                    input and splits its old weight over them: copy 0 holds W - sum(N_c), copy c
//                    holds N_c (noise of std `noise`). The sum is W (up to float rounding); the
//                    copies differ, so gradient descent pulls them apart (identical copies would
//                    stay identical).
//   head width       d_head -> d_head': new query and value columns are noise, new key columns 0
//                    (the new dims add q.k = 0 to every score) and new W_O rows 0 (nothing
//                    written); old queries are scaled by sqrt(d_head'/d_head) so the scores keep
//                    their 1/sqrt(d_head) scale.
//   MLP width        d_mlp -> d_mlp': new neurons read noise (W_in) and write nothing (W_out rows 0).
// Layers, heads, vocabulary and context must match: depth is not widened.
#include <cstdint>
#include <string>

#include "model/params.hpp"

namespace ogpt::model {

// Why `to` is not a widening of `from` ("" when it is): the same shape, or a change the function
// cannot survive (depth, heads, vocabulary, context, a folded LayerNorm).
std::string widening_problem(const Config& from, const Config& to);
// Throws UserError (kUsage) with widening_problem when there is one.
void check_widening(const Config& from, const Config& to);

// The widened weights; deterministic for the seed. noise = 0 gives exact copies (W and 0).
ParamBlock widen_params(const ParamBlock& from, const Config& to, float noise, uint64_t seed);

}  // namespace ogpt::model
