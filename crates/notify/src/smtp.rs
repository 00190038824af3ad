//! Email over SMTP: [`SmtpSender`] delivers the email half of [`MessageSender`] to a mail relay.
//!
//! The conversation is lettre's SMTP transport (EHLO, STARTTLS or implicit TLS on rustls, AUTH PLAIN
//! or LOGIN, dot-stuffing, reply parsing, timeouts), one connection per message; this module formats
//! the message itself, so what goes out is the same whatever the transport.
//!
//! **TLS** ([`SmtpTls`]): implicit TLS (port 465), STARTTLS required, STARTTLS when the relay offers it,
//! or none. Certificates are checked against the webpki roots plus any root configured for an
//! internal CA. Credentials are only sent over TLS, or to a relay on the loopback interface.
//!
//! The message is 7-bit clean whatever its language: headers with non-ASCII text are RFC 2047 encoded
//! words, the body is UTF-8 in quoted-printable, so no relay needs 8BITMIME or SMTPUTF8. Envelope
//! addresses must therefore be ASCII. The `Date` header comes from the injected clock, in China time.
//!
//! Each delivery, from connecting to the relay's last reply, is bounded by the configured timeout, so a stuck relay fails the job
//! (which the worker retries with backoff) instead of holding the worker. Errors name the SMTP reply
//! code and text but never the recipient's full address: job errors are stored in plain text while the
//! message itself is sealed.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use rand::RngExt as _;
use yiwang_kernel::SharedClock;

use crate::message::{Email, MessageSender, SendError, SendFuture, Sms, mask_email};

/// The sender's display name in the `From` header.
pub const DEFAULT_FROM_NAME: &str = "一网通办";
/// How long one delivery may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest reply text quoted in an error.
const MAX_ERROR_TEXT: usize = 300;
/// Bytes of UTF-8 per RFC 2047 encoded word: a multiple of 3 (no padding inside the text) that keeps
/// `Subject: =?UTF-8?B?…?=` within 78 characters.
const ENCODED_WORD_BYTES: usize = 39;
/// Longest quoted-printable line, the soft line break's `=` included (RFC 2045 §6.7).
const QP_LINE: usize = 76;

/// Where and as whom to send email.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Host name or IP address of the relay.
    pub host: String,
    pub port: u16,
    /// The envelope sender and `From` address, e.g. `noreply@zwfw.example.gov.cn`.
    pub from: String,
    /// The `From` display name; [`DEFAULT_FROM_NAME`] unless changed.
    pub from_name: String,
    /// Log in with AUTH PLAIN (or LOGIN) when set.
    pub credentials: Option<SmtpCredentials>,
    /// Bound on the whole delivery: connecting, TLS, the conversation and the message.
    pub timeout: Duration,
    pub tls: SmtpTls,
    /// Extra trusted root certificates (PEM), for a relay whose certificate an internal CA issued.
    pub root_certificates: Vec<Vec<u8>>,
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain TCP: only for a relay on the same host or a trusted network segment.
    None,
    /// STARTTLS when the relay offers it, plain otherwise (no protection against an active attacker).
    Opportunistic,
    /// STARTTLS, and no message if the relay does not offer it or its certificate does not verify.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
}

impl SmtpTls {
    /// `none`, `opportunistic`, `starttls` or `tls` (also `implicit`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Some(Self::None),
            "opportunistic" => Some(Self::Opportunistic),
            "starttls" => Some(Self::StartTls),
            "tls" | "implicit" => Some(Self::Implicit),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Opportunistic => "opportunistic",
            Self::StartTls => "starttls",
            Self::Implicit => "tls",
        }
    }

    /// Whether credentials can be sent without an eavesdropper on the path reading them.
    fn protects_credentials(self) -> bool {
        matches!(self, Self::StartTls | Self::Implicit)
    }
}

impl SmtpConfig {
    /// A relay at `host:port` sending as `from`, without AUTH, with the default name and timeout, and
    /// STARTTLS whenever the relay offers it.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            from: from.into(),
            from_name: DEFAULT_FROM_NAME.to_owned(),
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            tls: SmtpTls::Opportunistic,
            root_certificates: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_tls(mut self, tls: SmtpTls) -> Self {
        self.tls = tls;
        self
    }

    /// Trust this root certificate (PEM) too.
    #[must_use]
    pub fn with_root_certificate(mut self, pem: Vec<u8>) -> Self {
        self.root_certificates.push(pem);
        self
    }

    /// `host:port`, with brackets around an IPv6 address, for messages.
    fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// A relay on this machine: the one place credentials may travel without TLS.
    fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    #[must_use]
    pub fn with_credentials(mut self, credentials: SmtpCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Check the settings; the error names the setting (`smtp.host`, `smtp.from`…) and never quotes
    /// the password.
    pub fn validate(&self) -> Result<(), SmtpConfigError> {
        let bad = |key: &str, reason: String| Err(SmtpConfigError(format!("smtp.{key}: {reason}")));
        if self.host.trim().is_empty() {
            return bad("host", "the relay's host name is missing".to_owned());
        }
        if self
            .host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return bad("host", format!("{:?} is not a host name", self.host));
        }
        if self.port == 0 {
            return bad("port", "0 is not a port".to_owned());
        }
        if let Err(reason) = check_address(&self.from) {
            return bad(
                "from",
                format!("{:?} is not an email address: {reason}", self.from),
            );
        }
        if self.from_name.chars().any(char::is_control) {
            return bad(
                "from_name",
                "the display name must be one line of text".to_owned(),
            );
        }
        if let Some(credentials) = &self.credentials {
            // AUTH PLAIN separates the fields with NUL, so neither may contain one.
            if credentials.username.is_empty() || credentials.username.contains('\0') {
                return bad(
                    "username",
                    "must not be empty or contain NUL characters".to_owned(),
                );
            }
            if credentials.password.is_empty() || credentials.password.contains('\0') {
                return bad(
                    "password",
                    "must not be empty or contain NUL characters".to_owned(),
                );
            }
        }
        if self.timeout.is_zero() {
            return bad("timeout_secs", "must be at least 1 second".to_owned());
        }
        if self.credentials.is_some() && !self.tls.protects_credentials() && !self.is_loopback() {
            return bad(
                "tls",
                format!(
                    "is {:?}, which would send the password in the clear to {}; use \"starttls\" or \"tls\"",
                    self.tls.name(),
                    self.host
                ),
            );
        }
        for pem in &self.root_certificates {
            if !pem
                .windows(b"-----BEGIN CERTIFICATE-----".len())
                .any(|w| w == b"-----BEGIN CERTIFICATE-----")
            {
                return bad("ca_file", "holds no PEM certificate".to_owned());
            }
            if let Err(error) = Certificate::from_pem(pem) {
                return bad(
                    "ca_file",
                    format!("is not a PEM certificate: {}", sanitize(&error.to_string())),
                );
            }
        }
        Ok(())
    }

    /// lettre's transport for these settings.
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SmtpConfigError> {
        let tls = if self.tls == SmtpTls::None {
            Tls::None
        } else {
            let mut parameters = TlsParameters::builder(self.host.clone());
            for pem in &self.root_certificates {
                let certificate = Certificate::from_pem(pem)
                    .map_err(|e| SmtpConfigError(format!("smtp.ca_file: {e}")))?;
                parameters = parameters.add_root_certificate(certificate);
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|e| SmtpConfigError(format!("smtp.tls: {e}")))?;
            match self.tls {
                SmtpTls::Implicit => Tls::Wrapper(parameters),
                SmtpTls::StartTls => Tls::Required(parameters),
                SmtpTls::Opportunistic | SmtpTls::None => Tls::Opportunistic(parameters),
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(self.timeout))
            .hello_name(hello_name());
        if let Some(credentials) = &self.credentials {
            builder = builder
                .credentials(Credentials::new(
                    credentials.username.clone(),
                    credentials.password.clone(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(builder.build())
    }
}

/// The EHLO argument: this host's name when the environment says it (a node's `HOSTNAME`), else the
/// loopback address literal, which relays accept from any client (RFC 5321 §4.1.4: not checked).
fn hello_name() -> ClientId {
    match std::env::var("HOSTNAME") {
        Ok(name)
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            ClientId::Domain(name)
        }
        _ => ClientId::Ipv4(std::net::Ipv4Addr::LOCALHOST),
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("from_name", &self.from_name)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

/// A relay account. The password never appears in `Debug` output or in errors.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    password: String,
}

impl SmtpCredentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"(secret)")
            .finish()
    }
}

/// An SMTP setting that cannot work; the text names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SmtpConfigError(String);

/// Sends email through an SMTP relay, one connection per message. It cannot send SMS: combine it with
/// an SMS sender in a [`super::recovery::RoutingSender`].
#[derive(Clone)]
pub struct SmtpSender {
    config: SmtpConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    clock: SharedClock,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A sender with checked settings; `clock` dates the messages.
    pub fn new(config: SmtpConfig, clock: SharedClock) -> Result<Self, SmtpConfigError> {
        config.validate()?;
        let transport = config.transport()?;
        Ok(Self {
            config,
            transport,
            clock,
        })
    }

    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// The message as it goes on the wire after `DATA` (before dot-stuffing): headers and a
    /// quoted-printable body, CRLF line ends, ASCII only.
    fn format_message(&self, email: &Email, now: DateTime<Utc>, message_id: &str) -> String {
        let date = now
            .with_timezone(&yiwang_kernel::china_offset())
            .to_rfc2822();
        let from = if self.config.from_name.is_empty() {
            self.config.from.clone()
        } else {
            format!(
                "{} <{}>",
                header_text(&self.config.from_name, "From: ".len()),
                self.config.from
            )
        };
        let mut message = String::with_capacity(512 + email.text.len() * 3);
        for (name, value) in [
            ("Date", date),
            ("From", from),
            ("To", email.to.clone()),
            ("Subject", header_text(&email.subject, "Subject: ".len())),
            ("Message-ID", format!("<{message_id}>")),
            ("MIME-Version", "1.0".to_owned()),
            ("Content-Type", "text/plain; charset=utf-8".to_owned()),
            ("Content-Transfer-Encoding", "quoted-printable".to_owned()),
            // RFC 3834: vacation responders and the like must not answer a notification.
            ("Auto-Submitted", "auto-generated".to_owned()),
        ] {
            message.push_str(name);
            message.push_str(": ");
            message.push_str(&value);
            message.push_str("\r\n");
        }
        message.push_str("\r\n");
        message.push_str(&quoted_printable(&email.text));
        message.push_str("\r\n");
        message
    }

    fn new_message_id(&self, now: DateTime<Utc>) -> String {
        let domain = self
            .config
            .from
            .rsplit_once('@')
            .map_or("localhost", |(_, domain)| domain);
        // Unique across nodes and retries without coordination: the time plus 64 random bits.
        let nonce: u64 = rand::rng().random();
        format!("{}.{nonce:016x}@{domain}", now.format("%Y%m%d%H%M%S"))
    }

    #[tracing::instrument(skip_all, fields(to = %mask_email(&email.to)), err)]
    async fn deliver(&self, email: &Email) -> Result<(), SendError> {
        if let Err(reason) = check_address(&email.to) {
            // Retrying cannot make the address deliverable.
            return Err(SendError::Malformed(format!(
                "the recipient {} is not an address this sender can deliver to: {reason}",
                mask_email(&email.to)
            )));
        }
        let now = self.clock.now();
        let message = self.format_message(email, now, &self.new_message_id(now));
        let envelope = match (
            self.config.from.parse::<Address>(),
            email.to.parse::<Address>(),
        ) {
            (Ok(from), Ok(to)) => Envelope::new(Some(from), vec![to])
                .map_err(|e| SendError::Malformed(format!("the envelope is not valid: {e}")))?,
            (Err(e), _) => {
                return Err(SendError::Malformed(format!(
                    "the sender address is not valid: {e}"
                )));
            }
            (_, Err(_)) => {
                return Err(SendError::Malformed(format!(
                    "the recipient {} is not an address this sender can deliver to",
                    mask_email(&email.to)
                )));
            }
        };
        // lettre ends the DATA section with CRLF . CRLF itself.
        let data = message.strip_suffix("\r\n").unwrap_or(&message);
        // lettre bounds connecting but not the conversation: one bound for all of it, so a relay that
        // accepts and then stays silent fails the job instead of holding the worker.
        let sent = tokio::time::timeout(
            self.config.timeout,
            self.transport.send_raw(&envelope, data.as_bytes()),
        )
        .await
        .map_err(|_| {
            SendError::Gateway(format!(
                "SMTP {}: no answer within {}",
                self.config.server(),
                seconds(self.config.timeout)
            ))
        })?;
        match sent {
            Ok(reply) => {
                let text = sanitize(&reply.message().collect::<Vec<_>>().join(" / "));
                tracing::info!(code = %reply.code(), reply = %text, "email handed to the SMTP relay");
                Ok(())
            }
            Err(error) => Err(self.failure(&error, &email.to)),
        }
    }

    /// A delivery failure as a job error: the reply code and text, or what went wrong with the
    /// connection, with the recipient masked wherever the relay quoted it.
    fn failure(&self, error: &lettre::transport::smtp::Error, recipient: &str) -> SendError {
        let mut text = String::new();
        let mut cause: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = cause {
            let line = e.to_string();
            // lettre's message already includes its source's; do not repeat it.
            if !text.contains(&line) {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(&line);
            }
            cause = e.source();
        }
        let text = sanitize(&text).replace(recipient, &mask_email(recipient));
        let server = self.config.server();
        SendError::Gateway(if let Some(code) = error.status() {
            format!("SMTP {server} refused the message: {code} {text}")
        } else if error.is_timeout() {
            format!(
                "SMTP {server}: no answer within {}: {text}",
                seconds(self.config.timeout)
            )
        } else if error.is_tls() {
            format!("SMTP {server}: TLS failed: {text}")
        } else {
            format!("SMTP {server}: {text}")
        })
    }
}

impl MessageSender for SmtpSender {
    fn send_sms<'a>(&'a self, _sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async {
            Err(SendError::Gateway(
                "the SMTP sender cannot deliver SMS; route SMS to an SMS sender".to_owned(),
            ))
        })
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(self.deliver(email))
    }
}

// ------------------------------------------------------------------ message encoding

/// Why `address` cannot be used in the envelope, if it cannot. Deliberately narrow: one `@`, ASCII
/// without spaces, controls or the characters that would change the meaning of an SMTP command or a
/// header (`<>()[]\,;:"`), at most 254 characters.
fn check_address(address: &str) -> Result<(), String> {
    if address.len() > 254 {
        return Err("it is longer than 254 characters".to_owned());
    }
    if !address.is_ascii() {
        return Err("non-ASCII addresses need SMTPUTF8, which this sender does not use".to_owned());
    }
    if let Some(c) = address
        .chars()
        .find(|c| !c.is_ascii_graphic() || "<>()[]\\,;:\"".contains(*c))
    {
        return Err(format!("it contains {c:?}"));
    }
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err("it needs exactly one @ with text on both sides".to_owned()),
    }
}

/// A header value: as it is when it is short printable ASCII, otherwise RFC 2047 `B` encoded words of
/// whole characters, folded one word per line. `prefix` is the length of `Name: ` before it.
fn header_text(text: &str, prefix: usize) -> String {
    let plain = text.chars().all(|c| c == ' ' || c.is_ascii_graphic())
        && !text.contains("=?")
        && prefix + text.len() <= 78;
    if plain {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > ENCODED_WORD_BYTES {
            words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
    }
    // Whitespace between adjacent encoded words is not part of the text (RFC 2047 §6.2).
    words.join("\r\n ")
}

/// The text as quoted-printable (RFC 2045 §6.7) with CRLF line ends: any line end in the text becomes
/// a hard line break; long lines get soft breaks between (never inside) escapes. Lines starting with
/// `.` are left as they are: dot-stuffing is the transport's job.
fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len() * 3);
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut column = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal = match b {
                // Trailing white space is dropped by some relays, so at a line's end it is escaped.
                b' ' | b'\t' => !last,
                b'=' => false,
                33..=126 => true,
                _ => false,
            };
            let width = if literal { 1 } else { 3 };
            // The last token may use the whole line; any other must leave room for a soft break's `=`.
            let room = if last { QP_LINE } else { QP_LINE - 1 };
            if column + width > room {
                out.push_str("=\r\n");
                column = 0;
            }
            if literal {
                out.push(char::from(b));
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('=');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
            column += width;
        }
    }
    out
}

/// One line of printable text, shortened, for an error message.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_TEXT)
        .collect()
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_escapes_wraps_and_keeps_line_ends() {
        assert_eq!(quoted_printable("a=b \nc\t"), "a=3Db=20\r\nc=09");
        assert_eq!(quoted_printable("一"), "=E4=B8=80");
        assert_eq!(quoted_printable("x\r\ny\rz"), "x\r\ny\r\nz");
        let long = "办".repeat(30);
        let encoded = quoted_printable(&long);
        for line in encoded.split("\r\n") {
            assert!(line.len() <= QP_LINE, "{line}");
            // Soft breaks fall between escapes, never inside one.
            assert!(line.trim_end_matches('=').len() % 3 == 0, "{line}");
        }
        assert_eq!(encoded.replace("=\r\n", ""), "=E5=8A=9E".repeat(30));
        let ascii = "x".repeat(76);
        assert_eq!(
            quoted_printable(&ascii),
            ascii,
            "a full last line needs no soft break"
        );
        let ascii = "x".repeat(77);
        assert_eq!(
            quoted_printable(&ascii),
            format!("{}=\r\nxx", "x".repeat(75))
        );
    }

    #[test]
    fn headers_are_plain_or_encoded_words_of_whole_characters() {
        assert_eq!(header_text("Case update", 9), "Case update");
        assert_eq!(header_text("一网通办", 6), "=?UTF-8?B?5LiA572R6YCa5Yqe?=");
        assert_eq!(header_text("a\r\nBcc: x", 9), "=?UTF-8?B?YQ0KQmNjOiB4?=");
        let long = header_text(&"您的办件已受理".repeat(5), 9);
        for (i, word) in long.split("\r\n ").enumerate() {
            let inner = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .unwrap();
            let bytes = BASE64.decode(inner).unwrap();
            assert!(
                String::from_utf8(bytes).is_ok(),
                "word {i} splits a character"
            );
            assert!(word.len() + 9 <= 78);
        }
    }

    #[test]
    fn addresses_that_could_change_a_command_are_refused() {
        assert!(check_address("zhangsan@example.com").is_ok());
        for bad in [
            "",
            "zhangsan",
            "@example.com",
            "a@b@c",
            "a b@example.com",
            "a@example.com>\r\nRCPT TO:<b@example.com",
            "张三@example.com",
            "<a@example.com>",
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let config = SmtpConfig::new("127.0.0.1", 25, "noreply@example.gov.cn")
            .with_credentials(SmtpCredentials::new("yiwang", "hunter2"));
        assert!(config.validate().is_ok());
        assert!(!format!("{config:?}").contains("hunter2"));
        let empty = SmtpConfig::new("127.0.0.1", 25, "noreply@example.gov.cn")
            .with_credentials(SmtpCredentials::new("yiwang", ""));
        assert!(
            empty
                .validate()
                .unwrap_err()
                .to_string()
                .contains("smtp.password")
        );
    }
}
