//! Payment methods ("wallets") and sets of them.
//!
//! A consumer holds a subset of {Alipay, WeChat Pay, bank card}; a merchant
//! offers a subset. Sets are three-bit masks so that they index small lookup
//! tables in the monthly step.

use serde::Serialize;
use std::fmt;

pub const N_WALLETS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wallet {
    Alipay,
    WechatPay,
    Card,
}

impl Wallet {
    pub const ALL: [Wallet; N_WALLETS] = [Wallet::Alipay, Wallet::WechatPay, Wallet::Card];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Wallet {
        Wallet::ALL[i]
    }

    pub fn id(self) -> &'static str {
        match self {
            Wallet::Alipay => "alipay",
            Wallet::WechatPay => "wechat_pay",
            Wallet::Card => "card",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Wallet::Alipay => "Alipay",
            Wallet::WechatPay => "WeChat Pay",
            Wallet::Card => "Bank card / UnionPay",
        }
    }

    pub fn parse(id: &str) -> Option<Wallet> {
        Wallet::ALL.into_iter().find(|w| w.id() == id)
    }

    pub fn ids() -> String {
        Wallet::ALL.map(|w| w.id()).join(", ")
    }

    pub fn bit(self) -> u8 {
        1 << self.index()
    }
}

impl fmt::Display for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of wallets as a three-bit mask (bit i = `Wallet::ALL[i]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WalletSet(pub u8);

impl WalletSet {
    pub const EMPTY: WalletSet = WalletSet(0);
    pub const ALL: WalletSet = WalletSet(0b111);

    pub fn of(wallets: &[Wallet]) -> WalletSet {
        WalletSet(wallets.iter().fold(0, |m, w| m | w.bit()))
    }

    pub fn contains(self, w: Wallet) -> bool {
        self.0 & w.bit() != 0
    }

    pub fn with(self, w: Wallet) -> WalletSet {
        WalletSet(self.0 | w.bit())
    }

    pub fn intersect(self, other: WalletSet) -> WalletSet {
        WalletSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Wallet> {
        Wallet::ALL.into_iter().filter(move |w| self.contains(*w))
    }

    /// Holds WeChat Pay but not Alipay: the group the headline case is about.
    pub fn is_wechat_only(self) -> bool {
        self.contains(Wallet::WechatPay) && !self.contains(Wallet::Alipay)
    }

    pub fn is_dual(self) -> bool {
        self.contains(Wallet::WechatPay) && self.contains(Wallet::Alipay)
    }
}
