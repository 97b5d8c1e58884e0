//! Entry points for the fuzz targets in `fuzz/`, kept in the library so a plain `cargo test`
//! replays the committed corpus on stable. Not part of the public API.
