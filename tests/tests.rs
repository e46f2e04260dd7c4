//! Integration tests, compiled as one binary (see Cargo.toml, `autotests = false`).

mod util;

mod bad_input;
mod model;
mod pipeline;
