//! Yiwang cases (办件): applying for a service item, the workflow engine that moves a case through
//! the posts of one or several departments, legal deadlines on the working-day calendar and their
//! supervision (电子监察), material files, following a case, and notifications.
//!
//! - [`workflow`]: declarative workflow definitions, checked as a whole before they are published.
//! - [`form`]: application forms (typed fields with rules).
//! - [`deadline`]: time limits and warning levels.
//! - [`files`]: material files in `object_store`.
//! - [`machine`]: the engine's rules as one pure function (status, task, action, actor → effects).
//! - [`service`]: the use cases; [`repo`]: all SQL.

pub mod deadline;
pub mod diagram;
pub mod error;
pub mod files;
pub mod form;
pub mod machine;
pub mod model;
pub mod reads;
pub mod repo;
pub mod service;
pub mod workflow;

pub use deadline::{DeadlinePolicy, Deadlines};
pub use error::CaseError;
pub use files::FileStore;
pub use service::{Application, CaseView, Cases, Origin, PublicProgress, SweepReport};
pub use workflow::WorkflowDef;
