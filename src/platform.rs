//! The e-commerce platforms consumers choose between.
//!
//! The set is fixed by the model design (five named platforms and "Other");
//! what the data say about each (GMV, order value, cashier) lives in `data/`.

use serde::Serialize;
use std::fmt;

pub const N_PLATFORMS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Taobao,
    Jd,
    Pinduoduo,
    Douyin,
    Kuaishou,
    Other,
}

impl Platform {
    pub const ALL: [Platform; N_PLATFORMS] =
        [Platform::Taobao, Platform::Jd, Platform::Pinduoduo, Platform::Douyin, Platform::Kuaishou, Platform::Other];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Platform {
        Platform::ALL[i]
    }

    /// The identifier used in files and column names.
    pub fn id(self) -> &'static str {
        match self {
            Platform::Taobao => "taobao",
            Platform::Jd => "jd",
            Platform::Pinduoduo => "pinduoduo",
            Platform::Douyin => "douyin",
            Platform::Kuaishou => "kuaishou",
            Platform::Other => "other",
        }
    }

    /// The name used in charts and reports.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Taobao => "Taobao/Tmall",
            Platform::Jd => "JD",
            Platform::Pinduoduo => "Pinduoduo",
            Platform::Douyin => "Douyin",
            Platform::Kuaishou => "Kuaishou",
            Platform::Other => "Other",
        }
    }

    pub fn parse(id: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.id() == id)
    }

    pub fn ids() -> String {
        Platform::ALL.map(|p| p.id()).join(", ")
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
