//! Typed ids: every table's primary key gets its own newtype so a `CaseId` can never be passed
//! where a `PersonId` is expected, and random public ids for things shown in URLs.
//!
//! Database keys stay `i64` (portable across SQLite and PostgreSQL); the newtype exists only in
//! Rust. Ids that appear in citizen-facing URLs, where a sequential number would leak volumes
//! or invite guessing, use [`new_public_id`] instead.

use rand::CryptoRng;

/// Defines a `Copy` newtype over `i64` for a table's primary key.
///
/// ```
/// yiwang_kernel::define_id!(
///     /// A case (办件).
///     pub CaseId
/// );
/// let id = CaseId::new(42);
/// assert_eq!(id.get(), 42);
/// assert_eq!(id.to_string(), "42");
/// assert_eq!("42".parse::<CaseId>().unwrap(), id);
/// ```
///
/// The type gets `new`, `get`, `Display`, `FromStr`, `From` conversions to and from `i64`,
/// `Ord`, `Hash` and serde as a bare number.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $vis:vis $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis struct $name(i64);

        impl $name {
            /// Wraps a raw database id.
            #[must_use]
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw database id.
            #[must_use]
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = ::core::num::ParseIntError;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                s.parse::<i64>().map(Self)
            }
        }

        impl ::core::convert::From<i64> for $name {
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl ::core::convert::From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: $crate::__private::serde::Serializer,
            {
                serializer.serialize_i64(self.0)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D>(deserializer: D) -> ::core::result::Result<Self, D::Error>
            where
                D: $crate::__private::serde::Deserializer<'de>,
            {
                <i64 as $crate::__private::serde::Deserialize<'de>>::deserialize(deserializer)
                    .map(Self)
            }
        }
    };
}

/// A random, URL-safe public id: 32 lowercase hex characters (a UUID v4 in simple form).
///
/// The randomness is passed in so tests can make ids reproducible.
pub fn new_public_id(rng: &mut impl CryptoRng) -> String {
    let mut bytes = [0_u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .simple()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::HashSet;

    define_id!(
        /// An id for tests.
        pub TestId
    );
    define_id!(OtherId);

    #[test]
    fn id_round_trips() {
        let id = TestId::new(7);
        assert_eq!(id.get(), 7);
        assert_eq!(i64::from(id), 7);
        assert_eq!(TestId::from(7), id);
        assert_eq!(id.to_string(), "7");
        assert_eq!("7".parse::<TestId>().unwrap(), id);
        assert!("x".parse::<TestId>().is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "7");
        assert_eq!(serde_json::from_str::<TestId>("7").unwrap(), id);
        assert!(TestId::new(1) < TestId::new(2));
        assert_eq!(OtherId::new(-1).get(), -1);
        let set: HashSet<TestId> = [TestId::new(1), TestId::new(1)].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn public_ids_are_url_safe_and_distinct() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = new_public_id(&mut rng);
        let b = new_public_id(&mut rng);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        // Same seed, same ids: tests can rely on them.
        assert_eq!(new_public_id(&mut StdRng::seed_from_u64(1)), a);
        // It is a well-formed version 4 UUID.
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }
}
