//! Integration tests, compiled as one binary (see Cargo.toml, `autotests = false`).

mod util;

mod analysis;
mod bad_input;
mod browser;
mod data_files;
mod docs;
mod model;
mod pipeline;
