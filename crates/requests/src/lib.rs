//! Yiwang citizen requests (诉求): one record from every channel — the portal (logged in, or
//! anonymous with a mobile), the 12345 hotline (直接办结 of a consultation on the call), grid
//! workers' reports, online petitions (信访), the small-business channel (小微企业专区) and the
//! API — of six types (咨询, 求助, 投诉, 举报, 建议, 表扬), routed by the category tree (派单目录:
//! category × region → department, rules as data).
//!
//! The 12345 closed loop 受理 → 派单 → 签收 → 办理 → 答复 → 办结 → 回访 → 评价 with 退单 and
//! 改派, joint handling (主办/协办), limits per urgency (hours of wall time or working days on the
//! calendar), 延期 with approval, near-due and overdue marks, duplicate detection and merging, and
//! whistle-blower confidentiality: a department's [`DepartmentView`] has no field for the
//! submitter. Disputes go through three-level mediation (三级调处); petitions follow their
//! statutory periods (受理 15 days, 办结 60 + 30, 复查 and 复核 30 each). Grids (网格) inside
//! communities place reports by point-in-polygon; a knowledge base (知识库) answers by category.
//!
//! - [`model`]: ids, code lists, records and views.
//! - [`machine`]: the closed loop as one pure function.
//! - [`petition`]: the petition rules as one pure function.
//! - [`mediation`]: the levels of mediation and their limits.
//! - [`similar`]: character-bigram similarity for duplicates.
//! - [`grid`]: grids as GeoJSON polygons and the point-in-polygon test.
//! - [`service`]: the use cases ([`Requests`]); [`repo`]: all SQL.
//! - [`reads`]: what other domains (ratings, supervision) read.

pub mod error;
pub mod grid;
pub mod machine;
pub mod mediation;
pub mod model;
pub mod petition;
pub mod reads;
pub mod repo;
pub mod service;
pub mod similar;

pub use error::RequestError;
pub use model::{DepartmentView, DispatcherView, NewRequest, Request, RequestId};
pub use service::{NOTIFY_JOB, Requests, RequestsConfig};

/// Registers the handler of [`NOTIFY_JOB`]: notices to departments and the hotline centre
/// (dispatched, returned, near due, overdue, escalated) are written to the log as 电子监察 lines;
/// the workbench pages read the requests themselves.
pub fn register_handlers(worker: &mut yiwang_db::jobs::Worker) {
    worker.register(NOTIFY_JOB, |job| async move {
        tracing::info!(target: "yiwang::requests", payload = %job.payload, "request notice");
        Ok(())
    });
}
