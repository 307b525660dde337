#pragma once
// The engine's inner kernels, header-only so that perft and the game generator inline them.
// Each operation has a portable bit-parallel version (plain 64-bit shifts and bit tricks) and,
// where the compiler targets AVX-512, two vector versions: the 8 directions as 8 lanes of a
// zmm, and as 4 lanes in each of two ymm. get_moves_fast / get_flips_fast (used by board.cpp
// and perft) pick the winner of bench/bench_engine.cpp; the others stay callable so that tests
// compare every variant with othello/reference.cpp.
//
// Directions, as index deltas with a1 = bit 0: +1 east, +8 south (next row), +9 south-east,
// +7 south-west, and their negatives.
#include <bit>
#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512VL__)
#define OGPT_HAVE_AVX512 1
// GCC 12's AVX-512 headers trip its own -Wuninitialized (GCC bug 105593, "__Y = __Y" in
// _mm512_undefined_*); the warning is located in the header, so silence it there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#define OGPT_HAVE_AVX512 0
#endif

namespace ogpt::othello::kernels {

using Bitboard = uint64_t;

constexpr Bitboard kNotA = 0xfefefefefefefefeull;   // every column but a
constexpr Bitboard kNotH = 0x7f7f7f7f7f7f7f7full;   // every column but h
constexpr Bitboard kInner = 0x7e7e7e7e7e7e7e7eull;  // columns b..g

// ---- legal moves ----------------------------------------------------------------------------

// Kogge-Stone fill in one direction pair (+d and -d) at once. `mask` is the opponent restricted
// to squares a run can cross without wrapping round a row edge (columns b..g for any direction
// with a horizontal component), so plain shifts need no further masking.
template <int kDir>
inline Bitboard moves_pair(Bitboard p, Bitboard mask) {
  Bitboard l = mask & (p << kDir), r = mask & (p >> kDir);
  l |= mask & (l << kDir);
  r |= mask & (r >> kDir);
  Bitboard pre_l = mask & (mask << kDir), pre_r = pre_l >> kDir;  // two in a row
  l |= pre_l & (l << 2 * kDir);
  r |= pre_r & (r >> 2 * kDir);
  l |= pre_l & (l << 2 * kDir);  // runs of up to 6 opponent discs
  r |= pre_r & (r >> 2 * kDir);
  return (l << kDir) | (r >> kDir);
}

inline Bitboard get_moves_scalar(Bitboard p, Bitboard o) {
  Bitboard inner = o & kInner;
  Bitboard m = moves_pair<1>(p, inner) | moves_pair<8>(p, o) | moves_pair<7>(p, inner) |
               moves_pair<9>(p, inner);
  return m & ~(p | o);
}

#if OGPT_HAVE_AVX512
// The 8 directions as 8 lanes. A left rotation by d (or 64-d for -d) followed by the lane's
// "valid destination" mask equals a non-wrapping shift, so one vprolvq serves both signs.
inline __m512i dir_rotations() { return _mm512_setr_epi64(1, 8, 9, 7, 63, 56, 55, 57); }
inline __m512i dir_rotations2() { return _mm512_setr_epi64(2, 16, 18, 14, 62, 48, 46, 50); }
inline __m512i dir_dest_masks() {
  // Squares that a one-step shift in the lane's direction can land on.
  return _mm512_setr_epi64(
      static_cast<int64_t>(kNotA), static_cast<int64_t>(0xffffffffffffff00ull),
      static_cast<int64_t>(kNotA & 0xffffffffffffff00ull), static_cast<int64_t>(kNotH & 0xffffffffffffff00ull),
      static_cast<int64_t>(kNotH), static_cast<int64_t>(0x00ffffffffffffffull),
      static_cast<int64_t>(kNotH & 0x00ffffffffffffffull), static_cast<int64_t>(kNotA & 0x00ffffffffffffffull));
}

inline Bitboard reduce_or(__m512i v) {
  __m256i h = _mm256_or_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i q = _mm_or_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  return static_cast<Bitboard>(_mm_cvtsi128_si64(_mm_or_si128(q, _mm_unpackhi_epi64(q, q))));
}

inline Bitboard get_moves_avx512(Bitboard p, Bitboard o) {
  const __m512i rot = dir_rotations(), rot2 = dir_rotations2(), dest = dir_dest_masks();
  __m512i pp = _mm512_set1_epi64(static_cast<int64_t>(p));
  __m512i om = _mm512_and_si512(_mm512_set1_epi64(static_cast<int64_t>(o)), dest);
  __m512i em = _mm512_andnot_si512(_mm512_set1_epi64(static_cast<int64_t>(p | o)), dest);
  __m512i x = _mm512_and_si512(om, _mm512_rolv_epi64(pp, rot));
  x = _mm512_or_si512(x, _mm512_and_si512(om, _mm512_rolv_epi64(x, rot)));
  __m512i pre = _mm512_and_si512(om, _mm512_rolv_epi64(om, rot));
  x = _mm512_or_si512(x, _mm512_and_si512(pre, _mm512_rolv_epi64(x, rot2)));
  x = _mm512_or_si512(x, _mm512_and_si512(pre, _mm512_rolv_epi64(x, rot2)));
  return reduce_or(_mm512_and_si512(em, _mm512_rolv_epi64(x, rot)));
}
#endif

// ---- flips ----------------------------------------------------------------------------------

// Rays from each square to the board edge: lanes 0..3 go up in index (+1 +8 +9 +7), lanes 4..7
// go down (-1 -8 -9 -7). Squares beyond sq only; 64-byte aligned for one vector load.
struct alignas(64) Rays {
  Bitboard lane[8];
};
struct RayTable {
  Rays sq[64];
  constexpr RayTable() : sq{} {
    const int dr[8] = {0, 1, 1, 1, 0, -1, -1, -1}, dc[8] = {1, 0, 1, -1, -1, 0, -1, 1};
    for (int s = 0; s < 64; ++s)
      for (int d = 0; d < 8; ++d) {
        Bitboard m = 0;
        for (int r = s / 8 + dr[d], c = s % 8 + dc[d]; r >= 0 && r < 8 && c >= 0 && c < 8;
             r += dr[d], c += dc[d])
          m |= Bitboard{1} << (r * 8 + c);
        sq[s].lane[d] = m;
      }
  }
};
inline constexpr RayTable kRays{};

// Along a ray going up in index the first non-opponent square is the lowest set bit of
// ~o & ray; if it is the player's, everything below it on the ray is a run of opponent discs.
inline Bitboard flips_up(Bitboard p, Bitboard o, Bitboard ray) {
  Bitboard y = ~o & ray;
  Bitboard outflank = y & (0 - y) & p;
  return outflank ? (outflank - 1) & ray : 0;
}
// Going down, the first non-opponent square is the highest set bit (y | 1 keeps countl_zero
// defined; a spurious bit 0 is rejected by the "& ray" test).
inline Bitboard flips_down(Bitboard p, Bitboard o, Bitboard ray) {
  Bitboard y = ~o & ray;
  Bitboard outflank = (0x8000000000000000ull >> std::countl_zero(y | 1)) & p & ray;
  return ray & (0 - (outflank << 1));
}

inline Bitboard get_flips_scalar(Bitboard p, Bitboard o, int sq) {
  const Bitboard* r = kRays.sq[sq].lane;
  return flips_up(p, o, r[0]) | flips_up(p, o, r[1]) | flips_up(p, o, r[2]) |
         flips_up(p, o, r[3]) | flips_down(p, o, r[4]) | flips_down(p, o, r[5]) |
         flips_down(p, o, r[6]) | flips_down(p, o, r[7]);
}

#if OGPT_HAVE_AVX512
inline Bitboard get_flips_avx512(Bitboard p, Bitboard o, int sq) {
  __m512i ray = _mm512_load_si512(kRays.sq[sq].lane);
  __m512i pp = _mm512_set1_epi64(static_cast<int64_t>(p));
  __m512i y = _mm512_andnot_si512(_mm512_set1_epi64(static_cast<int64_t>(o)), ray);
  __m512i zero = _mm512_setzero_si512();
  // First non-opponent square per lane: lowest bit for the up lanes, highest for the down ones
  // (vpsrlvq by 64 gives 0 when the lane is empty).
  __m512i low = _mm512_and_si512(y, _mm512_sub_epi64(zero, y));
  __m512i high = _mm512_srlv_epi64(_mm512_set1_epi64(INT64_MIN), _mm512_lzcnt_epi64(y));
  __m512i outflank = _mm512_and_si512(_mm512_mask_blend_epi64(0xf0, low, high), pp);
  __m512i one = _mm512_set1_epi64(1);
  __m512i up = _mm512_and_si512(_mm512_sub_epi64(outflank, one), ray);
  __m512i down = _mm512_and_si512(_mm512_sub_epi64(zero, _mm512_add_epi64(outflank, outflank)), ray);
  __mmask8 hit = _mm512_test_epi64_mask(outflank, outflank);
  return reduce_or(_mm512_maskz_mov_epi64(hit, _mm512_mask_blend_epi64(0xf0, up, down)));
}
#endif

#if OGPT_HAVE_AVX512
// The same two kernels on 256-bit vectors: the +d directions in one ymm and the -d ones in
// another (plain variable shifts, no rotation trick), then one 256-bit OR reduction. Zen 4
// runs 512-bit ops as two 256-bit halves, so this trades lanes for a shorter reduction.
inline Bitboard reduce_or256(__m256i h) {
  __m128i q = _mm_or_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  return static_cast<Bitboard>(_mm_cvtsi128_si64(_mm_or_si128(q, _mm_unpackhi_epi64(q, q))));
}

inline Bitboard get_moves_avx256(Bitboard p, Bitboard o) {
  const __m256i sh = _mm256_setr_epi64x(1, 8, 9, 7), sh2 = _mm256_setr_epi64x(2, 16, 18, 14);
  // Opponent discs a run may cross, per direction: columns b..g unless the run is vertical.
  const __m256i inner = _mm256_setr_epi64x(static_cast<int64_t>(kInner), -1, static_cast<int64_t>(kInner),
                                           static_cast<int64_t>(kInner));
  __m256i pp = _mm256_set1_epi64x(static_cast<int64_t>(p));
  __m256i om = _mm256_and_si256(_mm256_set1_epi64x(static_cast<int64_t>(o)), inner);
  __m256i l = _mm256_and_si256(om, _mm256_sllv_epi64(pp, sh));
  __m256i r = _mm256_and_si256(om, _mm256_srlv_epi64(pp, sh));
  l = _mm256_or_si256(l, _mm256_and_si256(om, _mm256_sllv_epi64(l, sh)));
  r = _mm256_or_si256(r, _mm256_and_si256(om, _mm256_srlv_epi64(r, sh)));
  __m256i pre_l = _mm256_and_si256(om, _mm256_sllv_epi64(om, sh));
  __m256i pre_r = _mm256_srlv_epi64(pre_l, sh);
  l = _mm256_or_si256(l, _mm256_and_si256(pre_l, _mm256_sllv_epi64(l, sh2)));
  r = _mm256_or_si256(r, _mm256_and_si256(pre_r, _mm256_srlv_epi64(r, sh2)));
  l = _mm256_or_si256(l, _mm256_and_si256(pre_l, _mm256_sllv_epi64(l, sh2)));
  r = _mm256_or_si256(r, _mm256_and_si256(pre_r, _mm256_srlv_epi64(r, sh2)));
  __m256i m = _mm256_or_si256(_mm256_sllv_epi64(l, sh), _mm256_srlv_epi64(r, sh));
  return reduce_or256(m) & ~(p | o);
}

inline Bitboard get_flips_avx256(Bitboard p, Bitboard o, int sq) {
  __m256i ray_up = _mm256_load_si256(reinterpret_cast<const __m256i*>(kRays.sq[sq].lane));
  __m256i ray_dn = _mm256_load_si256(reinterpret_cast<const __m256i*>(kRays.sq[sq].lane + 4));
  __m256i pp = _mm256_set1_epi64x(static_cast<int64_t>(p));
  __m256i oo = _mm256_set1_epi64x(static_cast<int64_t>(o));
  __m256i zero = _mm256_setzero_si256();
  __m256i yu = _mm256_andnot_si256(oo, ray_up), yd = _mm256_andnot_si256(oo, ray_dn);
  __m256i ou = _mm256_and_si256(_mm256_and_si256(yu, _mm256_sub_epi64(zero, yu)), pp);
  __m256i od = _mm256_and_si256(
      _mm256_srlv_epi64(_mm256_set1_epi64x(INT64_MIN), _mm256_lzcnt_epi64(yd)), pp);
  // Up: bits below the outflank (none when there is no outflank); down: bits above it.
  __m256i fu = _mm256_maskz_and_epi64(_mm256_test_epi64_mask(ou, ou),
                                      _mm256_add_epi64(ou, _mm256_set1_epi64x(-1)), ray_up);
  __m256i fd = _mm256_and_si256(_mm256_sub_epi64(zero, _mm256_add_epi64(od, od)), ray_dn);
  return reduce_or256(_mm256_or_si256(fu, fd));
}
#endif

// ---- the variants board.cpp and perft use ---------------------------------------------------

// bench/bench_engine.cpp on the Zen 4 box (CPU time, perft 10 = 24.6M leaves): scalar 81 ms,
// 8-lane AVX-512 40 ms, 4-lane 256-bit 30 ms. Zen 4 splits 512-bit ops in two, so the longer
// 8-lane reduction costs more than the wider lanes save.
inline Bitboard get_moves_fast(Bitboard p, Bitboard o) {
#if OGPT_HAVE_AVX512
  return get_moves_avx256(p, o);
#else
  return get_moves_scalar(p, o);
#endif
}

inline Bitboard get_flips_fast(Bitboard p, Bitboard o, int sq) {
#if OGPT_HAVE_AVX512
  return get_flips_avx256(p, o, sq);
#else
  return get_flips_scalar(p, o, sq);
#endif
}

}  // namespace ogpt::othello::kernels
