//! Messages ready to send, and the senders that deliver them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use yiwang_kernel::Mobile;

/// An SMS ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: Mobile,
    pub text: String,
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text may hold a one-time code; neither it nor the full number belongs in logs.
        f.debug_struct("Sms")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// An email ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &mask_email(&self.to))
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// `z***@example.com`.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Why a message could not be sent; the job is retried with this as its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The job payload is not a message this platform knows (a bug or an old job): retrying cannot help.
    #[error("malformed message job: {0}")]
    Malformed(String),
    /// The gateway refused or could not be reached.
    #[error("message gateway: {0}")]
    Gateway(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Delivers SMS and email. [`LogSender`] is the default; a real gateway implements this trait.
pub trait MessageSender: Send + Sync + fmt::Debug {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a>;
    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a>;
}

/// Sends SMS through one sender and email through another, e.g. SMS to the log and email to an SMTP relay.
#[derive(Debug, Clone)]
pub struct RoutingSender {
    sms: Arc<dyn MessageSender>,
    email: Arc<dyn MessageSender>,
}

impl RoutingSender {
    pub fn new(sms: Arc<dyn MessageSender>, email: Arc<dyn MessageSender>) -> Self {
        Self { sms, email }
    }
}

impl MessageSender for RoutingSender {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        self.sms.send_sms(sms)
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        self.email.send_email(email)
    }
}

/// Writes each message to the log instead of sending it (number or address masked). The text, which may
/// hold a one-time code, is logged only when `show_text` is set — for demo and test installations, where
/// nobody can receive a real SMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender {
    pub show_text: bool,
}

impl MessageSender for LogSender {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async move {
            if self.show_text {
                tracing::info!(to = %sms.to.masked(), text = %sms.text, "SMS (log sender, not delivered)");
            } else {
                tracing::info!(to = %sms.to.masked(), chars = sms.text.chars().count(), "SMS (log sender, not delivered)");
            }
            Ok(())
        })
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(async move {
            if self.show_text {
                tracing::info!(to = %mask_email(&email.to), subject = %email.subject, text = %email.text,
                    "email (log sender, not delivered)");
            } else {
                tracing::info!(to = %mask_email(&email.to), subject = %email.subject, "email (log sender, not delivered)");
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_masked() {
        assert_eq!(mask_email("zhangsan@example.com"), "z***@example.com");
        assert_eq!(mask_email("no-at-sign"), "***");
        let email = Email {
            to: "zhangsan@example.com".to_owned(),
            subject: "办件".to_owned(),
            text: "验证码 123456".to_owned(),
        };
        let shown = format!("{email:?}");
        assert!(shown.contains("z***@example.com"), "{shown}");
        assert!(!shown.contains("123456"), "{shown}");
    }
}
