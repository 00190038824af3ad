//! All SQL of cases. Rows never leave this module; callers get model types.

mod cases;
mod events;
mod files;
mod licences;
mod tasks;
mod workflows;

pub use cases::{
    CaseFilter, NewCase, case_by_id, case_by_no, case_by_public_id, case_form,
    cases_of_departments, cases_of_person, disclosures, insert_case, pending_verifications,
    running_cases, save_case, set_case_form, set_warning, warned_cases, warned_counts,
};
pub use events::{NewEvent, event_by_id, events_of_case, insert_event};
pub use files::{
    attach_material, case_has_file, delete_unattached_file, detach_material, file_by_public_id,
    files_of_person, insert_file, materials_of_case, storage_key_in_use, unattached_files_before,
    usage_of_person,
};
pub use licences::{NoticeSeal, case_licences, insert_case_licence, insert_seal, seal_of};
pub use tasks::{
    InboxFilter, NewTask, cancel_tasks, claim_task, close_task, inbox, inbox_counts, inbox_steps,
    insert_task, release_task, set_task_due, set_task_status, task_by_id, tasks_of_case,
};
pub use workflows::{
    insert_workflow, items_with_workflows, latest_workflow, next_sequence, post_name, post_names,
    resolve_posts, workflow_by_id, workflows_of_item,
};

use yiwang_db::{QueryResult, Value};
use yiwang_kernel::PageRequest;

use crate::CaseError;

/// The row an `INSERT … RETURNING` gave back.
fn inserted(row: Option<QueryResult>) -> Result<QueryResult, CaseError> {
    row.ok_or_else(|| CaseError::Corrupt("insert returned no row".to_owned()))
}

/// Append a page's LIMIT and OFFSET values; returns their placeholder numbers.
fn push_page(args: &mut Vec<Value>, page: PageRequest) -> (usize, usize) {
    args.push((page.limit() as i64).into());
    args.push((page.offset() as i64).into());
    (args.len() - 1, args.len())
}

fn code<T>(parsed: Option<T>, what: &str, text: &str) -> Result<T, CaseError> {
    parsed.ok_or_else(|| CaseError::Corrupt(format!("unknown {what} {text:?}")))
}
