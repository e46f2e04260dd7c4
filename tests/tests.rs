//! Integration tests, compiled as one binary (see Cargo.toml, `autotests = false`).

mod util;

mod analysis;
mod bad_input;
mod browser;
mod data_files;
mod docs;
mod error_classes;
mod extremes;
mod interruption;
mod model;
mod pipeline;
mod properties;
