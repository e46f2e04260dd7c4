//! shareshift: an agent-based model of how e-commerce and payment-app market
//! shares move when a walled garden opens.
//!
//! The library is pure: it reads files only through `data` and `scenario`,
//! writes only through `output`, never prints, exits or reads the
//! environment. Data flow one way: scenario + data -> setup -> experiment ->
//! summary -> outputs.

pub mod analysis;
pub mod bench;
pub mod calendar;
pub mod calibration;
pub mod choice;
pub mod data;
pub mod error;
pub mod experiment;
pub mod model;
pub mod observe;
pub mod output;
pub mod params;
pub mod pipeline;
pub mod platform;
pub mod population;
pub mod region;
pub mod registry;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sensitivity;
pub mod stats;
pub mod summary;
pub mod wallet;
