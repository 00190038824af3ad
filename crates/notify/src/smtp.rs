//! Email over SMTP: [`SmtpSender`] delivers the email half of [`MessageSender`] to a mail relay.
//!
//! A small client on tokio's `TcpStream` rather than a mail crate: one message per connection, plain
//! TCP, AUTH PLAIN or LOGIN, and nothing else is needed, and a full mail stack (URL parsing, IDNA,
//! TLS back ends) would cost this build far more than the few hundred lines below. There is no TLS:
//! the relay is expected on the same host or on a trusted internal network (a local Postfix that
//! relays onwards with TLS), which matters most when credentials are configured, since AUTH over plain
//! TCP exposes them to anyone on the path.
//!
//! The message is 7-bit clean whatever its language: headers with non-ASCII text are RFC 2047 encoded
//! words, the body is UTF-8 in quoted-printable, so no relay needs 8BITMIME or SMTPUTF8. Envelope
//! addresses must therefore be ASCII. The `Date` header comes from the injected clock, in China time.
//!
//! Every connect, write and reply is bounded by the configured timeout, so a stuck relay fails the job
//! (which the worker retries with backoff) instead of holding the worker. Errors name the SMTP reply
//! code and text but never the recipient's full address: job errors are stored in plain text while the
//! message itself is sealed.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use rand::RngExt as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use yiwang_kernel::SharedClock;

use crate::message::{Email, MessageSender, SendError, SendFuture, Sms, mask_email};

/// The sender's display name in the `From` header.
pub const DEFAULT_FROM_NAME: &str = "一网通办";
/// How long to wait for the connection, for each write and for each reply, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest reply line accepted (RFC 5321 allows 512 octets; some servers send more).
const MAX_REPLY_LINE: u64 = 4096;
/// Most lines accepted in one multi-line reply (an EHLO reply has one per extension).
const MAX_REPLY_LINES: usize = 100;
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
    /// Bound on connecting, on each write and on each reply.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A relay at `host:port` sending as `from`, without AUTH, with the default name and timeout.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            from: from.into(),
            from_name: DEFAULT_FROM_NAME.to_owned(),
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
        }
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
        Ok(())
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
        Ok(Self { config, clock })
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
        let mut session = Session::connect(&self.config, &email.to).await?;
        let result = session.transaction(&self.config, &email.to, &message).await;
        // Once the relay took the message (or refused it) QUIT is a courtesy; its failure changes nothing.
        session.quit().await;
        let queued = result?;
        tracing::info!(reply = %queued, "email handed to the SMTP relay");
        Ok(())
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

// ------------------------------------------------------------------ the SMTP conversation

/// One reply: its code and the text of each line.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// The extensions an EHLO reply announced that this client uses.
#[derive(Debug, Default)]
struct Extensions {
    /// SASL mechanisms after `AUTH` (or the pre-standard `AUTH=`), upper case.
    auth: Option<Vec<String>>,
}

impl Extensions {
    fn parse(reply: &Reply) -> Self {
        let mut extensions = Self::default();
        // The first line is the server's greeting to us; extensions follow, one per line.
        for line in reply.lines.iter().skip(1) {
            let upper = line.trim().to_ascii_uppercase();
            let rest = upper
                .strip_prefix("AUTH ")
                .or_else(|| upper.strip_prefix("AUTH="));
            if let Some(rest) = rest {
                extensions
                    .auth
                    .get_or_insert_with(Vec::new)
                    .extend(rest.split_whitespace().map(str::to_owned));
            } else if upper == "AUTH" {
                extensions.auth.get_or_insert_with(Vec::new);
            }
        }
        extensions
    }
}

struct Session {
    stream: BufReader<TcpStream>,
    /// `host:port`, for errors.
    server: String,
    timeout: Duration,
    /// Replies often quote the recipient; errors show it masked.
    recipient: String,
    /// After an I/O error or a timeout the conversation is out of step: no QUIT then.
    broken: bool,
}

impl Session {
    async fn connect(config: &SmtpConfig, recipient: &str) -> Result<Self, SendError> {
        let server = if config.host.contains(':') {
            format!("[{}]:{}", config.host, config.port)
        } else {
            format!("{}:{}", config.host, config.port)
        };
        let stream = match tokio::time::timeout(
            config.timeout,
            TcpStream::connect((config.host.as_str(), config.port)),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(SendError::Gateway(format!(
                    "SMTP {server}: cannot connect: {error}"
                )));
            }
            Err(_) => {
                return Err(SendError::Gateway(format!(
                    "SMTP {server}: no connection within {}",
                    seconds(config.timeout)
                )));
            }
        };
        // Every command waits for its reply, so Nagle's algorithm could only add delay.
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream: BufReader::new(stream),
            server,
            timeout: config.timeout,
            recipient: recipient.to_owned(),
            broken: false,
        })
    }

    /// Greeting, EHLO (or HELO), AUTH when configured, MAIL, RCPT, DATA. Returns the relay's final
    /// reply text (which usually carries its queue id).
    async fn transaction(
        &mut self,
        config: &SmtpConfig,
        to: &str,
        message: &str,
    ) -> Result<String, SendError> {
        let greeting = self.read_reply("the greeting").await?;
        self.expect(&greeting, &[220], "the connection")?;
        let hello_name = self.hello_name();
        let ehlo = self.command(&format!("EHLO {hello_name}"), "EHLO").await?;
        let extensions = match ehlo.code {
            250 => Some(Extensions::parse(&ehlo)),
            // A server that does not know EHLO (RFC 5321 §3.2) gets HELO and no extensions.
            500..=599 => {
                let helo = self.command(&format!("HELO {hello_name}"), "HELO").await?;
                self.expect(&helo, &[250], "HELO")?;
                None
            }
            _ => return Err(self.refusal("EHLO", &ehlo)),
        };
        if let Some(credentials) = &config.credentials {
            let mechanisms = extensions
                .and_then(|e| e.auth)
                .ok_or_else(|| self.gateway("does not offer AUTH, but a username is configured"))?;
            self.authenticate(credentials, &mechanisms).await?;
        }
        let reply = self
            .command(&format!("MAIL FROM:<{}>", config.from), "MAIL FROM")
            .await?;
        self.expect(&reply, &[250], "MAIL FROM")?;
        let reply = self.command(&format!("RCPT TO:<{to}>"), "RCPT TO").await?;
        self.expect(&reply, &[250, 251], "RCPT TO")?;
        let reply = self.command("DATA", "DATA").await?;
        self.expect(&reply, &[354], "DATA")?;
        self.write(dot_stuff(message).as_bytes()).await?;
        let reply = self.read_reply("the message").await?;
        self.expect(&reply, &[250], "the message")?;
        Ok(sanitize(&reply.text()))
    }

    async fn authenticate(
        &mut self,
        credentials: &SmtpCredentials,
        mechanisms: &[String],
    ) -> Result<(), SendError> {
        let offers = |name: &str| mechanisms.iter().any(|m| m == name);
        if offers("PLAIN") {
            let token = BASE64.encode(format!(
                "\0{}\0{}",
                credentials.username, credentials.password
            ));
            let reply = self
                .command_secret(&format!("AUTH PLAIN {token}"), "AUTH PLAIN")
                .await?;
            self.expect(&reply, &[235], "AUTH PLAIN")?;
        } else if offers("LOGIN") {
            let reply = self.command("AUTH LOGIN", "AUTH LOGIN").await?;
            self.expect(&reply, &[334], "AUTH LOGIN")?;
            let reply = self
                .command_secret(
                    &BASE64.encode(&credentials.username),
                    "the AUTH LOGIN username",
                )
                .await?;
            self.expect(&reply, &[334], "the AUTH LOGIN username")?;
            let reply = self
                .command_secret(
                    &BASE64.encode(&credentials.password),
                    "the AUTH LOGIN password",
                )
                .await?;
            self.expect(&reply, &[235], "the AUTH LOGIN password")?;
        } else {
            return Err(self.gateway(&format!(
                "offers AUTH {} but neither PLAIN nor LOGIN",
                mechanisms.join(" ")
            )));
        }
        Ok(())
    }

    /// Say goodbye if the conversation is still in step; errors are ignored (the outcome is known).
    async fn quit(&mut self) {
        if self.broken {
            return;
        }
        if self.write(b"QUIT\r\n").await.is_ok() {
            let _ = self.read_reply("QUIT").await;
        }
    }

    /// The EHLO argument: without a configured host name, the address literal of our end of the
    /// connection is what RFC 5321 §4.1.3 asks for.
    fn hello_name(&self) -> String {
        match self.stream.get_ref().local_addr() {
            Ok(addr) if addr.is_ipv6() => format!("[IPv6:{}]", addr.ip()),
            Ok(addr) => format!("[{}]", addr.ip()),
            Err(_) => "localhost".to_owned(),
        }
    }

    async fn command(&mut self, line: &str, what: &str) -> Result<Reply, SendError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(what).await
    }

    /// A command carrying credentials: the same as [`Self::command`], named separately so that nobody
    /// adds logging of the line here.
    async fn command_secret(&mut self, line: &str, what: &str) -> Result<Reply, SendError> {
        self.command(line, what).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        let stream = self.stream.get_mut();
        let outcome = tokio::time::timeout(self.timeout, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                self.broken = true;
                Err(self.gateway(&format!("the connection failed: {error}")))
            }
            Err(_) => {
                self.broken = true;
                Err(self.gateway(&format!("could not send within {}", seconds(self.timeout))))
            }
        }
    }

    async fn read_reply(&mut self, what: &str) -> Result<Reply, SendError> {
        match tokio::time::timeout(self.timeout, read_reply(&mut self.stream)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(problem)) => {
                self.broken = true;
                Err(self.gateway(&format!("bad reply to {what}: {problem}")))
            }
            Err(_) => {
                self.broken = true;
                Err(self.gateway(&format!(
                    "no reply to {what} within {}",
                    seconds(self.timeout)
                )))
            }
        }
    }

    fn expect(&self, reply: &Reply, accepted: &[u16], what: &str) -> Result<(), SendError> {
        if accepted.contains(&reply.code) {
            Ok(())
        } else {
            Err(self.refusal(what, reply))
        }
    }

    fn refusal(&self, what: &str, reply: &Reply) -> SendError {
        let mut text = sanitize(&reply.text());
        if !self.recipient.is_empty() {
            text = text.replace(&self.recipient, &mask_email(&self.recipient));
        }
        SendError::Gateway(format!(
            "SMTP {} refused {what}: {} {text}",
            self.server, reply.code
        ))
    }

    fn gateway(&self, problem: &str) -> SendError {
        SendError::Gateway(format!("SMTP {}: {problem}", self.server))
    }
}

/// Read one reply, multi-line or not (RFC 5321 §4.2.1: `250-…` lines continue, `250 …` ends).
async fn read_reply(stream: &mut BufReader<TcpStream>) -> Result<Reply, String> {
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        let read = (&mut *stream)
            .take(MAX_REPLY_LINE)
            .read_until(b'\n', &mut raw)
            .await
            .map_err(|e| format!("the connection failed: {e}"))?;
        if read == 0 {
            return Err("the server closed the connection".to_owned());
        }
        if raw.last() != Some(&b'\n') {
            return Err(if read as u64 >= MAX_REPLY_LINE {
                "a reply line is too long".to_owned()
            } else {
                "the server closed the connection mid-reply".to_owned()
            });
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let bytes = line.as_bytes();
        if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
            return Err(format!("{:?} is not an SMTP reply", sanitize(line)));
        }
        let this_code: u16 = line[..3]
            .parse()
            .map_err(|_| format!("{:?} is not an SMTP reply", sanitize(line)))?;
        if *code.get_or_insert(this_code) != this_code {
            return Err("a multi-line reply changed its code".to_owned());
        }
        let last = match bytes.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(format!("{:?} is not an SMTP reply", sanitize(line))),
        };
        lines.push(line.get(4..).unwrap_or_default().to_owned());
        if last {
            return Ok(Reply {
                code: this_code,
                lines,
            });
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err("a multi-line reply has too many lines".to_owned());
        }
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

/// The DATA section: every line starting with `.` gets another (RFC 5321 §4.5.2), and the terminating
/// `CRLF . CRLF` is added.
fn dot_stuff(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for line in message.split_inclusive("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
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
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        assert_eq!(dot_stuff("a\r\n.\r\n..b\r\n"), "a\r\n..\r\n...b\r\n.\r\n");
        assert_eq!(dot_stuff("a"), "a\r\n.\r\n");
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
