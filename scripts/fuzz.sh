#!/usr/bin/env bash
# Fuzzes every reader of outside data with libFuzzer (clang, ASan + UBSan).
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     (default 30 s each, every target)
# Builds build-fuzz/ (clang), writes the seed corpora (make_fuzz_seeds + fuzz/seeds/), then runs
# the targets one at a time: corpora grow in build-fuzz/corpus/<target>/ from run to run, crashes
# land in build-fuzz/artifacts/<target>/. Exits 1 if any target found a crash, hang or leak.
# Set NICE=1 to run under `nice -n 19` (shared machines). Needs: bash scripts/setup.sh --with-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
shift || true
B=build-fuzz
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found; run: bash scripts/setup.sh --with-fuzz" >&2
  exit 2
fi
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOGPT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$B" -j"${JOBS:-2}" --target fuzz_all
rm -rf "$B/seeds"
"$B/fuzz/make_fuzz_seeds" "$B/seeds" >/dev/null
cp fuzz/seeds/pth/*.pth "$B/seeds/pth/"        # tiny torch.save files (make_pth_seeds.py)
cp fuzz/seeds/pickle/*.pkl "$B/seeds/pickle/"  # their data.pkl

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$B"/fuzz/fuzz_*; do [ -x "$f" ] && targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
export OMP_NUM_THREADS=1  # one core per target; the readers' OpenMP loops need not spread
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
prefix=()
[ "${NICE:-0}" = 1 ] && prefix=(nice -n 19)
failed=()
for t in "${targets[@]}"; do
  exe="$B/fuzz/fuzz_$t"
  [ -x "$exe" ] || { echo "fuzz.sh: no target fuzz_$t (built: $(ls $B/fuzz | grep '^fuzz_' | tr '\n' ' '))" >&2; exit 2; }
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$B/artifacts/$t/last.log"
  echo "== fuzz_$t for ${secs}s"
  # -timeout: one input taking > 10 s is a hang; -rss/-malloc limits: a small file must not make
  # the reader allocate gigabytes (that is a denial of service, and reported as a crash).
  if "${prefix[@]}" "$exe" "$B/corpus/$t" "$B/seeds/$t" "${dict[@]}" -max_total_time="$secs" \
       -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="$B/artifacts/$t/" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(awk -v n="$execs" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    echo "   ok: $execs runs (~$rate exec/s), corpus $(ls "$B/corpus/$t" | wc -l) files"
  else
    echo "   FAILED: see $log" >&2
    grep -E 'ERROR|SUMMARY|property|refusal|Test unit written' "$log" | head -8 >&2 || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
