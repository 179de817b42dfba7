//! `DateTime`: the one time scalar. Output is RFC 3339 in UTC with
//! microseconds ([`crate::domain::rfc3339`]), so the feed's `at`, a
//! round's dates and a webhook body's `event.at` are written alike; input
//! is any RFC 3339 time with an offset.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, Utc};

/// A moment in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

/// A moment: RFC 3339 in UTC with microseconds (`2027-06-01T09:00:00.000000Z`);
/// as input, any RFC 3339 time with an offset.
#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                // In UTC it must stay a year of four digits, or it could
                // not be written back as RFC 3339 and read again.
                .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
                .map(Self)
                .ok_or_else(|| {
                    InputValueError::custom(format!(
                        "{s:?} is not an RFC 3339 time from year 0001 to 9999 in UTC (e.g. 2027-03-01T08:00:00Z)"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(crate::domain::rfc3339(self.0))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at)
    }
}
