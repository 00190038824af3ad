//! Surveys (测评): questionnaires a department builds (sections of single / multiple choice, 1–5
//! scale and text questions, each required or not), publishes to the public (one answer per
//! person or browser) or to the people served by an item or a hall in a period (invited by SMS
//! through the outbox with one-use links), and closes; results with counts, percentages and
//! averages per question.
//!
//! - [`model`]: the definition and its limits, answers, results (pure).
//! - [`service`]: the use cases ([`Surveys`]); [`repo`]: all SQL.

pub mod error;
pub mod model;
pub mod repo;
pub mod service;

pub use error::SurveyError;
pub use service::{AnswerChannel, Published, Respondent, Surveys};
