//! Notifications of the applicant about public history lines.

use std::sync::Arc;

use yiwang_db::jobs::{Job, Worker};
use yiwang_identity::reads as id_reads;
use yiwang_identity::service::recovery::{Email, MessageSender, Sms};

use super::{Cases, NOTIFY_JOB};
use crate::model::{Case, CaseEvent, Outcome};
use crate::repo::{self};

impl Cases {
    /// The text of a notification about a public history line (Chinese, the language of SMS here).
    pub fn notice_text(case: &Case, event: &CaseEvent) -> (String, String) {
        let no = case.case_no.as_deref().unwrap_or_default();
        let what = match event.action.as_str() {
            "submit" => "已提交，等待受理".to_owned(),
            "accept" => match case.outcome {
                Some(Outcome::Granted) => "已受理并准予办结".to_owned(),
                _ => "已受理，进入审查".to_owned(),
            },
            "decline" => format!("不予受理，理由：{}", event.note),
            "supplement" => {
                let missing = event
                    .detail
                    .get("missing")
                    .and_then(serde_json::Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(serde_json::Value::as_str)
                            .collect::<Vec<_>>()
                            .join("、")
                    })
                    .unwrap_or_default();
                format!("需要补正：{missing}。请登录一网通办补齐后重新提交")
            }
            "resubmit" => "补正材料已收到".to_owned(),
            "special" => "进入特别程序（期间不计入办理时限）".to_owned(),
            "special_end" => "特别程序结束，恢复办理".to_owned(),
            "grant" => "审批通过（准予），请留意领取结果".to_owned(),
            "deny" => format!("不予许可，理由：{}", event.note),
            "conclude" => "已办结".to_owned(),
            "withdraw" => "已撤回".to_owned(),
            "return" => "补正期限届满未补正，已退件".to_owned(),
            "extension_approved" => format!("办理时限依法延长，理由：{}", event.note),
            "verify_failed" => format!("承诺核查不实，许可已作废：{}", event.note),
            other => format!("状态更新（{other}）"),
        };
        (
            format!("【一网通办】办件 {no} 进度通知"),
            format!(
                "【一网通办】您申请的“{}”（办件编号{no}）{what}。",
                case.item_name
            ),
        )
    }

    /// Deliver the notification of one history line: SMS to the applicant's mobile, and email when
    /// the application gave an address.
    pub async fn deliver_notice(
        &self,
        event_id: i64,
        sender: &dyn MessageSender,
    ) -> Result<(), String> {
        let conn = self.db.conn();
        let Some((case_id, event)) = repo::event_by_id(conn, event_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let case = repo::case_by_id(conn, case_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("case gone")?;
        let (subject, text) = Self::notice_text(&case, &event);
        let mobile = id_reads::person_mobile_in(conn, &self.pii, case.applicant.person_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("applicant gone")?;
        sender
            .send_sms(&Sms {
                to: mobile,
                text: text.clone(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if !case.contact_email.is_empty() {
            sender
                .send_email(&Email {
                    to: case.contact_email.clone(),
                    subject,
                    text,
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Register the `cases.notify` handler.
pub fn register_handlers(worker: &mut Worker, cases: Cases, sender: Arc<dyn MessageSender>) {
    worker.register(NOTIFY_JOB, move |job: Job| {
        let cases = cases.clone();
        let sender = Arc::clone(&sender);
        async move {
            let event = job
                .payload
                .get("event")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| format!("job {} has no event id", job.id))?;
            cases.deliver_notice(event, sender.as_ref()).await
        }
    });
}
