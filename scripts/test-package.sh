#!/usr/bin/env bash
# Packages the library as crates.io would get it and runs its tests there: without the
# repository around it (no cli/, server/, fuzz/) and without the dev-dependency on itself that
# turns on `gen`, `arbitrary` and `_internal_test_exports` here, so what needs those features is
# skipped (required-features) or compiled out (`#[cfg(feature = …)]`), never failing. The
# package is unpacked outside the repository (inside it, Cargo would take it for a workspace
# member), always in the same place, and built in the repository's target/ (its dependencies,
# built already, are reused; the package itself is another path and builds anew).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo package -p restore-delta --no-verify --allow-dirty
target="$PWD/target"
work="${TMPDIR:-/tmp}/restore-delta-package-test"
rm -rf "$work"
mkdir -p "$work"
tar xzf target/package/restore-delta-*.crate -C "$work"
# The unpacked files keep the archive's times; tests built from an earlier unpacking must not
# pass for fresh (they name the directory they were built in).
find "$work" -type f -exec touch {} +
cd "$work"/restore-delta-*/
CARGO_TARGET_DIR="$target" cargo test
