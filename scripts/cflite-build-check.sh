#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh unchanged outside ClusterFuzzLite's image, in the environment
# that image's `compile` would give it, then checks what it left in $OUT and runs each binary
# briefly over its seed corpus. Run by hand (it needs cargo-fuzz: `cargo install cargo-fuzz
# --locked`), not in .ci/run; see fuzz/README.md, "ClusterFuzzLite and OSS-Fuzz".
#
#   scripts/cflite-build-check.sh            # SANITIZER=none, any toolchain: stable is enough,
#                                            # `cargo fuzz build --sanitizer none` passes no -Z
#                                            # flag (cargo-fuzz 0.13.2, rustc 1.95.0), so no
#                                            # RUSTC_BOOTSTRAP
#   scripts/cflite-build-check.sh address    # SANITIZER=address, as ClusterFuzzLite builds it:
#                                            # needs a nightly toolchain (RUSTUP_TOOLCHAIN,
#                                            # default `nightly`)
#
# Why not the image itself: gcr.io/oss-fuzz-base/base-builder-rust runs under Docker, and this
# machine has no Docker engine (a docker client, no daemon), so the image can neither be pulled
# nor run. What the image and `compile` provide, and what this script does instead:
#   SRC       /src, holding the repository (Dockerfile: COPY . $SRC/restore-delta) and build.sh
#             (COPY .clusterfuzzlite/build.sh $SRC/)   -> a temporary directory with a symlink to
#             this repository and a copy of build.sh (compared byte for byte with the committed
#             one), so the build reuses this checkout's fuzz/target
#   OUT, WORK /out, /work                              -> mktemp -d each
#   SANITIZER address (the image's default; the workflows pass `address`)
#                                                      -> none by default: stable Rust has no
#             AddressSanitizer (`-Zsanitizer` is nightly-only); `address` when asked for, with
#             a nightly toolchain
#   RUSTFLAGS what `compile` exports for Rust: "--cfg fuzzing -Cdebuginfo=1
#             -Cforce-frame-pointers", plus -Zsanitizer=address for address
#                                                      -> the same (cargo-fuzz adds its own)
#   FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
#                                                      -> the same (build.sh reads none of them)
#   RUSTUP_TOOLCHAIN the image's pinned nightly        -> the caller's (stable here) for none,
#             `nightly` unless set for address
#   CUSTOM_LIBFUZZER_PATH=/usr/lib/libFuzzingEngine.a, CUSTOM_LIBFUZZER_STD_CXX=c++ (libfuzzer-sys
#             links the image's libFuzzer)             -> unset: that archive exists only in the
#             image, so libfuzzer-sys builds its bundled libFuzzer with the system C++ compiler
#   CC=clang, CXX=clang++, CFLAGS/CXXFLAGS with the C sanitizer flags,
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=clang -> unset: no clang here; the default
#             linker (cc) links
#   the image's `cargo` wrapper (it only acts for SANITIZER=coverage) -> not emulated
#   CARGO_BUILD_TARGET, CARGO_TARGET_DIR, CARGO_BUILD_TARGET_DIR, CARGO_ENCODED_RUSTFLAGS
#             unset in the image                       -> unset (each would move the binaries
#             or drop RUSTFLAGS)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
sanitizer=${1:-none}
case "$sanitizer" in
  none) ;;
  address) export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-nightly} ;;
  *) echo "usage: $0 [none|address]" >&2; exit 2 ;;
esac
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 2
fi

SRC=$(mktemp -d)
OUT=$(mktemp -d)
WORK=$(mktemp -d)
# Kept when a check fails, for a look at $OUT and at a crashing input under $WORK/artifacts/.
trap 'if [ $? -eq 0 ]; then rm -rf "$SRC" "$OUT" "$WORK"; else echo "kept SRC=$SRC OUT=$OUT WORK=$WORK" >&2; fi' EXIT
ln -s "$repo" "$SRC/restore-delta"
cp "$repo/.clusterfuzzlite/build.sh" "$SRC/build.sh"
cmp "$repo/.clusterfuzzlite/build.sh" "$SRC/build.sh"

unset CARGO_BUILD_TARGET CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR CARGO_ENCODED_RUSTFLAGS
unset CUSTOM_LIBFUZZER_PATH CUSTOM_LIBFUZZER_STD_CXX
export SRC OUT WORK
export SANITIZER=$sanitizer FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
if [ "$sanitizer" = address ]; then
  export RUSTFLAGS="--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers"
else
  export RUSTFLAGS="--cfg fuzzing -Cdebuginfo=1 -Cforce-frame-pointers"
fi

echo "== build.sh (SANITIZER=$SANITIZER, $(rustc --version))"
start=$(date +%s)
(cd "$SRC/restore-delta" && bash -eux "$SRC/build.sh")
echo "== build.sh done in $(($(date +%s) - start)) s"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Every [[bin]] of fuzz/Cargo.toml, with its seed corpus; the dictionary for the text targets.
targets=$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' "$repo/fuzz/Cargo.toml")
[ "$(echo "$targets" | sort)" = "$(cd "$repo" && cargo fuzz list | sort)" ] ||
  fail "fuzz/Cargo.toml's [[bin]]s and cargo fuzz list differ"
for target in $targets; do
  [ -x "$OUT/$target" ] || fail "no binary $OUT/$target"
  # Built with the sanitizer asked for: ASan's runtime is linked in exactly when it was.
  asan=no
  if nm "$OUT/$target" | grep -E ' [TtWw] __asan_init$' >/dev/null; then asan=yes; fi
  [ "$asan" = "$([ "$sanitizer" = address ] && echo yes || echo no)" ] ||
    fail "$target: ASan linked in: $asan, with SANITIZER=$sanitizer"
  zip="$OUT/${target}_seed_corpus.zip"
  [ -s "$zip" ] || fail "no seed corpus $zip"
  committed=0
  for dir in "$repo/fuzz/corpus/$target" "$repo/fuzz/artifacts/$target"; do
    if [ -d "$dir" ]; then
      committed=$((committed + $(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)))
    fi
  done
  zipped=$(unzip -Z1 "$zip" | wc -l)
  [ "$zipped" -eq "$committed" ] || fail "$zip holds $zipped inputs, $committed are committed"
  case "$target" in
    apply_bytes | state_bytes)
      cmp "$repo/fuzz/restore-delta.dict" "$OUT/$target.dict" || fail "no dictionary for $target"
      ;;
    *) [ ! -e "$OUT/$target.dict" ] || fail "$target reads decisions, yet has a dictionary" ;;
  esac
  echo "ok $target: binary $(du -h "$OUT/$target" | cut -f1) (ASan: $asan), seed corpus $zipped inputs" \
    "($(du -h "$zip" | cut -f1) zipped)$([ -e "$OUT/$target.dict" ] && echo ", dictionary")"
done
extra=$(cd "$OUT" && ls | grep -Ev "^($(echo $targets | tr ' ' '|'))(_seed_corpus\.zip|\.dict)?$" || true)
[ -z "$extra" ] || fail "unexpected files in \$OUT: $extra"

# Each binary as ClusterFuzzLite starts it: the seed corpus unpacked, the dictionary if any; it
# must read every seed and fuzz for a few seconds without a crash.
seconds=${CFLITE_CHECK_SECONDS:-5}
for target in $targets; do
  corpus="$WORK/corpus/$target"
  mkdir -p "$corpus" "$WORK/artifacts/$target"
  unzip -q "$OUT/${target}_seed_corpus.zip" -d "$corpus"
  dict=()
  [ -e "$OUT/$target.dict" ] && dict=("-dict=$OUT/$target.dict")
  log="$WORK/$target.log"
  if ! "$OUT/$target" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$WORK/artifacts/$target/" "$corpus" >"$log" 2>&1; then
    tail -30 "$log" >&2
    fail "$target crashed or failed (input under $WORK/artifacts/$target/)"
  fi
  grep -q 'INITED' "$log" || fail "$target did not read its seed corpus"
  echo "ok $target: $(grep -m1 -o 'INITED.*' "$log" | sed 's/ exec\/s.*//'); after" \
    "${seconds}s: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') runs"
done
echo "== all $(echo $targets | wc -w) targets built, packaged and run"
