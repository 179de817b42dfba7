//! Cursors sealed for their audience. A cursor names a row by its id (an
//! event of the change feed, an entry of a response's history), but ids
//! are global: counting between two of them would tell a caller how many
//! rows it may not see lie between (another kommun's submissions, its
//! saves). So a cursor is the id *encrypted* for the audience that was
//! given it ([`crate::policy::Audience::tag`]) — a four-round Feistel
//! permutation of the 64-bit id keyed by HMAC-SHA-256, a strong
//! pseudorandom permutation — followed by a MAC over the audience and the
//! ciphertext. Two cursors say nothing about each other, a cursor given to
//! one audience is refused from another, and a forged or edited one is
//! refused (BAD_USER_INPUT), never read as some other position.
//!
//! The key is the server's: kept in the database (`server_key`, made by a
//! migration, never granted to the kommun role), so every process serving
//! one database reads the same cursors.

use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};
use crate::policy::Audience;

/// What a cursor points into: the same id in two lists is two cursors.
#[derive(Clone, Copy, Debug)]
pub enum List {
    /// The change feed (`changes`).
    Feed,
    /// A response's history (`historyConnection`).
    History,
    /// A webhook's deliveries, as its receiver sees them (`deliveryId`).
    Delivery,
}

impl List {
    fn tag(self) -> &'static [u8] {
        match self {
            Self::Feed => b"feed",
            Self::History => b"history",
            Self::Delivery => b"delivery",
        }
    }
}

/// The server's cursor key.
#[derive(Clone)]
pub struct Cursors {
    key: Vec<u8>,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors(…)")
    }
}

impl Default for Cursors {
    /// A key of this process alone (for a schema built without a database
    /// key, such as the SDL's): cursors from another process are refused.
    fn default() -> Self {
        Self::new(uuid::Uuid::new_v4().as_bytes())
    }
}

/// Bytes of MAC a cursor carries.
const MAC_BYTES: usize = 10;

impl Cursors {
    /// Cursors under `key` (the database's `server_key`).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            // Each part with its length, so no two splits read the same.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The Feistel round function.
    fn round(&self, list: List, audience: &[u8], round: u8, half: u32) -> u32 {
        let out = self.mac(&[
            b"round",
            list.tag(),
            audience,
            &[round],
            &half.to_be_bytes(),
        ]);
        u32::from_be_bytes([out[0], out[1], out[2], out[3]])
    }

    fn permute(&self, list: List, audience: &[u8], id: u64) -> u64 {
        let (mut left, mut right) = ((id >> 32) as u32, id as u32);
        for r in 0..4 {
            (left, right) = (right, left ^ self.round(list, audience, r, right));
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    fn unpermute(&self, list: List, audience: &[u8], sealed: u64) -> u64 {
        let (mut left, mut right) = ((sealed >> 32) as u32, sealed as u32);
        for r in (0..4).rev() {
            (left, right) = (right ^ self.round(list, audience, r, left), left);
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    /// The cursor of row `id` of `list`, for `audience`.
    pub fn seal(&self, list: List, audience: &Audience, id: i64) -> String {
        self.seal_for(list, &audience.tag(), id)
    }

    /// A delivery's id as the receiving endpoint sees it (`deliveryId`,
    /// `X-Mognad-Delivery`): unique and stable for deduplication, but
    /// sealed for that endpoint, so its gaps do not count the deliveries
    /// made to other endpoints (other kommuner's submissions among them).
    pub fn delivery_id(&self, webhook: uuid::Uuid, id: i64) -> String {
        self.seal_for(List::Delivery, &format!("webhook:{webhook}"), id)
    }

    fn seal_for(&self, list: List, tag: &str, id: i64) -> String {
        let sealed = self
            .permute(list, tag.as_bytes(), id.cast_unsigned())
            .to_be_bytes();
        let mac = self.mac(&[b"mac", list.tag(), tag.as_bytes(), &sealed]);
        let mut out = String::with_capacity(2 * (8 + MAC_BYTES));
        for b in sealed.iter().chain(&mac[..MAC_BYTES]) {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// The id of a cursor this audience was given for `list`;
    /// BAD_USER_INPUT (naming `what`) for anything else.
    pub fn open(
        &self,
        list: List,
        audience: &Audience,
        what: &str,
        cursor: &str,
    ) -> ApiResult<i64> {
        let refused = || ApiError::bad_input(format!("{what}: not a cursor this API gave you"));
        if cursor.len() != 2 * (8 + MAC_BYTES) || !cursor.is_ascii() {
            return Err(refused());
        }
        let mut bytes = [0u8; 8 + MAC_BYTES];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&cursor[2 * i..2 * i + 2], 16).map_err(|_| refused())?;
        }
        let (sealed, given) = bytes.split_at(8);
        let tag = audience.tag();
        let mac = self.mac(&[b"mac", list.tag(), tag.as_bytes(), sealed]);
        // Compared in constant time: a forger learns nothing from timing.
        let differs = mac[..MAC_BYTES]
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 {
            return Err(refused());
        }
        let sealed = u64::from_be_bytes(sealed.try_into().map_err(|_| refused())?);
        let id = self.unpermute(list, tag.as_bytes(), sealed).cast_signed();
        if id < 0 {
            return Err(refused());
        }
        Ok(id)
    }
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "the tests play the server's authentication"
)]
mod tests {
    use super::*;
    use crate::domain::KommunCode;
    use crate::policy;
    use crate::principal::{Principal, Role};

    #[test]
    fn a_cursor_opens_only_for_its_audience_and_list() {
        let cursors = Cursors::new(b"key");
        let kommun = policy::audience(&Principal::kommun(
            "k".into(),
            KommunCode::parse("1280").unwrap(),
        ));
        let other = policy::audience(&Principal::kommun(
            "k".into(),
            KommunCode::parse("0180").unwrap(),
        ));
        let admin = policy::audience(&Principal::skr("a".into(), Role::SkrAdmin));
        for id in [0, 1, 2, 41, 1 << 40, i64::MAX] {
            let c = cursors.seal(List::Feed, &kommun, id);
            assert_eq!(cursors.open(List::Feed, &kommun, "after", &c).unwrap(), id);
            assert!(cursors.open(List::Feed, &other, "after", &c).is_err());
            assert!(cursors.open(List::Feed, &admin, "after", &c).is_err());
            assert!(cursors.open(List::History, &kommun, "after", &c).is_err());
            assert!(
                Cursors::new(b"other")
                    .open(List::Feed, &kommun, "after", &c)
                    .is_err()
            );
        }
        // Neighbouring ids give unrelated cursors, and no edit opens.
        let (a, b) = (
            cursors.seal(List::Feed, &admin, 100),
            cursors.seal(List::Feed, &admin, 101),
        );
        assert_ne!(a[..16], b[..16]);
        for i in 0..a.len() {
            let mut edited = a.clone().into_bytes();
            edited[i] = if edited[i] == b'0' { b'1' } else { b'0' };
            let edited = String::from_utf8(edited).unwrap();
            assert!(cursors.open(List::Feed, &admin, "after", &edited).is_err());
        }
        for junk in ["", "MTA=", "é", &"0".repeat(36)] {
            assert!(cursors.open(List::Feed, &admin, "after", junk).is_err());
        }
    }
}
