//! Identity domain tests; database tests run on SQLite and (when configured) PostgreSQL.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod accounts;
mod org;
mod reads;
mod recovery;
mod safety;
mod staff;
mod tokens;
