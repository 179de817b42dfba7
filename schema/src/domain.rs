//! Domain values parsed once, where they enter: a municipality's code, a
//! question's key and a round's year. Past the edge a value of these types
//! is known to be well formed, so nothing checks it again, and nothing
//! malformed (a control character in a key, a code of letters) reaches the
//! database.

use std::fmt;

use crate::error::ApiError;

/// An SCB municipality code (kommunkod): four digits, e.g. `1280` (Malmö).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KommunCode(String);

impl KommunCode {
    pub fn parse(code: &str) -> Result<Self, ApiError> {
        if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(ApiError::bad_input(format!(
                "{:?} is not a municipality code (four digits)",
                shown(code)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A question's stable key: 1 to 64 of `a-z`, `0-9` and `_`, e.g. `risk_managed`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuestionKey(String);

impl QuestionKey {
    pub fn parse(key: &str) -> Result<Self, ApiError> {
        let well_formed = (1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if well_formed {
            Ok(Self(key.to_owned()))
        } else {
            Err(ApiError::bad_input(format!(
                "question {:?}: a question key has 1 to 64 of a-z, 0-9 and _",
                shown(key)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The year of a survey round (enkätomgång), 2000 to 2100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoundYear(i32);

impl RoundYear {
    pub fn parse(year: i32) -> Result<Self, ApiError> {
        if (2000..=2100).contains(&year) {
            Ok(Self(year))
        } else {
            Err(ApiError::bad_input(format!(
                "year {year} is outside 2000..2100"
            )))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

macro_rules! display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}

display!(KommunCode, QuestionKey, RoundYear);

/// A bad value as an error message shows it: at most 64 characters, control
/// characters escaped by `{:?}`.
fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A moment as the API writes it everywhere (GraphQL's `DateTime`, the
/// webhooks' bodies): RFC 3339 in UTC with microseconds,
/// `2027-06-01T09:00:00.000000Z`.
pub fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keys_and_years_are_parsed_once() {
        assert_eq!(KommunCode::parse("1280").unwrap().as_str(), "1280");
        for bad in ["128", "12800", "12a0", "", "１２８０"] {
            assert!(KommunCode::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            QuestionKey::parse("risk_managed").unwrap().as_str(),
            "risk_managed"
        );
        for bad in ["", "Risk", "risk managed", "risk\0managed", &"k".repeat(65)] {
            assert!(QuestionKey::parse(bad).is_err(), "{bad:?}");
        }
        let message = match QuestionKey::parse("a\0b") {
            Err(ApiError::BadUserInput(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            message.contains("\\0"),
            "the NUL is shown escaped: {message}"
        );
        assert_eq!(RoundYear::parse(2027).unwrap().get(), 2027);
        assert!(RoundYear::parse(1999).is_err() && RoundYear::parse(2101).is_err());
    }
}
