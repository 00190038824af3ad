//! Message templates: a template name and its parameters become the subject (for email) and the text.
//! Rendering happens when the job is delivered, so a job row holds only the (sealed) parameters.

use crate::message::SendError;

/// The message template of a password-reset code: params `code` and `minutes`.
pub const RESET_TEMPLATE: &str = "password_reset";
/// The generic message template: params `subject` and `text`, already rendered by the domain that
/// sends the notice (a case status change, a reminder…) and sent as they are.
pub const NOTICE_TEMPLATE: &str = "notice";

/// The text of a template with its parameters, in Chinese (the language of SMS in China).
/// Returns the subject (for email) and the body.
pub fn render_message(
    template: &str,
    params: &serde_json::Value,
) -> Result<(String, String), SendError> {
    let param = |name: &str| -> Result<String, SendError> {
        match params.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(SendError::Malformed(format!(
                "template {template:?} needs parameter {name:?}"
            ))),
        }
    };
    match template {
        RESET_TEMPLATE => Ok((
            "【一网通办】重置密码验证码".to_owned(),
            format!(
                "【一网通办】您的验证码为{}，{}分钟内有效，用于重置密码。如非本人操作，请忽略。",
                param("code")?,
                param("minutes")?
            ),
        )),
        NOTICE_TEMPLATE => {
            let (subject, text) = (param("subject")?, param("text")?);
            // An empty notice is a bug in the sending domain; delivering it would only puzzle people.
            if subject.trim().is_empty() || text.trim().is_empty() {
                return Err(SendError::Malformed(format!(
                    "template {template:?} needs a subject and a text that are not empty"
                )));
            }
            Ok((subject, text))
        }
        other => Err(SendError::Malformed(format!("unknown template {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn notice_template_passes_subject_and_text_through() {
        let (subject, text) = render_message(
            NOTICE_TEMPLATE,
            &json!({ "subject": "您的办件已受理", "text": "您申请的事项已受理。\n受理编号：SL2026030200001" }),
        )
        .unwrap();
        assert_eq!(subject, "您的办件已受理");
        assert_eq!(text, "您申请的事项已受理。\n受理编号：SL2026030200001");
        for params in [
            json!({ "subject": "办件" }),
            json!({ "text": "正文" }),
            json!({ "subject": " ", "text": "正文" }),
            json!({ "subject": "办件", "text": "" }),
        ] {
            assert!(
                matches!(
                    render_message(NOTICE_TEMPLATE, &params),
                    Err(SendError::Malformed(_))
                ),
                "{params}"
            );
        }
        // The reset template is unchanged by the new one.
        let (subject, _) =
            render_message(RESET_TEMPLATE, &json!({ "code": "123456", "minutes": 15 })).unwrap();
        assert_eq!(subject, "【一网通办】重置密码验证码");
    }
}
