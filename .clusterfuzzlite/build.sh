#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: runs inside gcr.io/oss-fuzz-base/base-builder-rust
# (`compile` calls it as `bash -eux $SRC/build.sh` from the Dockerfile's WORKDIR) and leaves in
# $OUT, for every cargo-fuzz target of fuzz/:
#   <target>               the libFuzzer binary;
#   <target>_seed_corpus.zip  fuzz/corpus/<target>/ and fuzz/artifacts/<target>/ (the committed
#                          corpus and the fixed crashers, so a regression shows at a run's start);
#   <target>.dict          fuzz/restore-delta.dict, for the targets that read text.
# Checked outside the image by scripts/cflite-build-check.sh; described in fuzz/README.md.
set -euo pipefail

cd "$SRC/restore-delta"

# The sanitizer ClusterFuzzLite asks for ($SANITIZER: the base image sets address, the workflow's
# `sanitizer` input overrides it) goes to cargo-fuzz, address when unset. The crate forbids
# `unsafe`, so our own code has no memory error to find and its invariants are panics; address is
# still what the Rust builders run (project.yaml): it instruments the dependencies compiled here,
# whose unsafe code (serde_json, hashbrown, memchr, ...) is not ours, and adds LeakSanitizer.
# In a coverage build the image's `cargo` wrapper turns `cargo fuzz build` into an instrumented
# `cargo build --bins` and ignores these flags; outside the image, coverage builds as `none`.
sanitizer="${SANITIZER:-address}"
if [ "$sanitizer" = coverage ]; then
  sanitizer=none
fi
cargo fuzz build -O --sanitizer "$sanitizer"

# Where cargo-fuzz (and the coverage wrapper) put the binaries: cargo-fuzz passes
# `--target x86_64-unknown-linux-gnu`, so the triple is part of the path.
bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release

# The targets whose input is body or state text; apply_ops and apply_case read decisions, so a
# dictionary of JSON names does not apply to them (fuzz/README.md, "The dictionary").
dict_targets=" apply_bytes state_bytes "

targets=$(cargo fuzz list)
if [ -z "$targets" ]; then
  echo "build.sh: cargo fuzz list found no fuzz target" >&2
  exit 1
fi

for target in $targets; do
  cp "$bin_dir/$target" "$OUT/$target"

  # The committed inputs (a glob leaves dot files out), flat (-j), as libFuzzer reads a corpus.
  shopt -s nullglob
  seeds=(fuzz/corpus/"$target"/* fuzz/artifacts/"$target"/*)
  shopt -u nullglob
  rm -f "$OUT/${target}_seed_corpus.zip"
  if [ "${#seeds[@]}" -gt 0 ]; then
    zip -q -j "$OUT/${target}_seed_corpus.zip" "${seeds[@]}"
  else
    echo "build.sh: no seed corpus for $target" >&2
  fi

  if [[ "$dict_targets" == *" $target "* ]]; then
    cp fuzz/restore-delta.dict "$OUT/$target.dict"
  fi
done
