//! Email over SMTP, against a real SMTP server on a local socket. The sink below speaks enough SMTP
//! (EHLO or HELO, STARTTLS or implicit TLS, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, QUIT) to record
//! what a relay would receive: the envelope, the DATA section as it came over the wire, and the
//! message with the dot-stuffing undone. Its certificate (`tls/relay.pem`, for 127.0.0.1) is issued
//! by a test CA (`tls/ca.pem`) that the client trusts only when told to.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader, ReadHalf, WriteHalf,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use yiwang_db::db_test;
use yiwang_db::jobs::{self, JobQueue, JobStatus, NewJob, Worker};
use yiwang_db::testing::TestDb;
use yiwang_kernel::{Clock as _, Mobile, SharedClock};
use yiwang_notify::{
    Email, LogSender, MessageSender, RoutingSender, SendError, Sms, SmtpConfig, SmtpCredentials,
    SmtpSender, SmtpTls, register_notify_handlers, seal_message,
};

use crate::{MOBILE_A, test_clock, test_pii};

const FROM: &str = "noreply@zwfw.example.gov.cn";
const TO: &str = "zhangsan@example.com";
const USER: &str = "yiwang";
const PASSWORD: &str = "s3cret-口令";

// ------------------------------------------------------------------ the sink

/// How the sink behaves.
#[derive(Debug, Clone)]
struct Rules {
    /// Answer every RCPT TO with 550.
    refuse_rcpt: bool,
    /// Refuse MAIL FROM with 530 until the client logged in with these.
    require_auth: Option<(String, String)>,
    /// The mechanisms announced after `AUTH` in the EHLO reply.
    mechanisms: &'static str,
    /// Answer EHLO with 502, as a server from before ESMTP would.
    no_ehlo: bool,
    /// Accept connections and never say a word.
    silent: bool,
    tls: SinkTls,
}

/// Whether and how the sink speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkTls {
    None,
    /// Offers STARTTLS in its EHLO reply.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

const CA_PEM: &[u8] = include_bytes!("tls/ca.pem");

fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("tls/relay.pem"))
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/relay.key")).unwrap();
    // The process's provider: ring, the only one compiled in.
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            refuse_rcpt: false,
            require_auth: None,
            mechanisms: "PLAIN LOGIN",
            no_ehlo: false,
            silent: false,
            tls: SinkTls::None,
        }
    }
}

/// One message the sink accepted.
#[derive(Debug, Clone, Default)]
struct Delivery {
    /// The EHLO or HELO command.
    hello: String,
    /// Username and password of a successful AUTH.
    login: Option<(String, String)>,
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The DATA section as it came over the wire: still dot-stuffed, without the final `.` line.
    wire: String,
    /// The message with the dot-stuffing undone.
    message: String,
    /// Whether the message came over TLS.
    tls: bool,
}

#[derive(Debug, Default)]
struct Record {
    deliveries: Vec<Delivery>,
    /// Every command line, in order, across connections.
    commands: Vec<String>,
}

struct Sink {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
}

impl Sink {
    async fn start(rules: Rules) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = Arc::clone(&record);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(socket, rules.clone(), Arc::clone(&shared)));
            }
        });
        Self { addr, record }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.record.lock().unwrap().deliveries.clone()
    }

    fn commands(&self) -> Vec<String> {
        self.record.lock().unwrap().commands.clone()
    }
}

/// One line without its CRLF, or `None` at the end of the connection.
async fn read_line<S: AsyncRead>(reader: &mut BufReader<ReadHalf<S>>) -> Option<String> {
    let mut raw = String::new();
    match reader.read_line(&mut raw).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            assert!(raw.ends_with("\r\n"), "SMTP lines end with CRLF: {raw:?}");
            Some(raw.trim_end_matches("\r\n").to_owned())
        }
    }
}

/// `<a@b>` → `a@b` (for `MAIL FROM:<…>` and `RCPT TO:<…>`).
fn path_of(command: &str) -> String {
    let start = command.find('<').unwrap() + 1;
    let end = command.rfind('>').unwrap();
    command[start..end].to_owned()
}

async fn converse(socket: TcpStream, rules: Rules, record: Arc<Mutex<Record>>) {
    if rules.silent {
        tokio::time::sleep(Duration::from_mins(1)).await;
        return;
    }
    match rules.tls {
        SinkTls::None => {
            talk(socket, &rules, &record, true, false).await;
        }
        SinkTls::Implicit => {
            if let Ok(tls) = acceptor().accept(socket).await {
                talk(tls, &rules, &record, true, true).await;
            }
        }
        SinkTls::StartTls => {
            if let Some(plain) = talk(socket, &rules, &record, true, false).await
                && let Ok(tls) = acceptor().accept(plain).await
            {
                talk(tls, &rules, &record, false, true).await;
            }
        }
    }
}

async fn say<S: AsyncWrite>(write: &mut WriteHalf<S>, text: &str) -> bool {
    write
        .write_all(format!("{text}\r\n").as_bytes())
        .await
        .is_ok()
}

/// One SMTP conversation on `stream`, greeting first when `greet`. Returns the stream when the
/// client asked for STARTTLS (offered on a plain stream of a STARTTLS sink), to go on over TLS.
async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    rules: &Rules,
    record: &Mutex<Record>,
    greet: bool,
    encrypted: bool,
) -> Option<S> {
    let offer_starttls = rules.tls == SinkTls::StartTls && !encrypted;
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    if greet && !say(&mut write, "220 sink.test ESMTP ready").await {
        return None;
    }
    let mut current = Delivery {
        tls: encrypted,
        ..Delivery::default()
    };
    while let Some(line) = read_line(&mut reader).await {
        record.lock().unwrap().commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let mut check_login = |user: String, password: String| {
            let ok = rules
                .require_auth
                .as_ref()
                .is_none_or(|(u, p)| *u == user && *p == password);
            if ok {
                current.login = Some((user, password));
                "235 2.7.0 Authentication successful".to_owned()
            } else {
                "535 5.7.8 Error: authentication failed".to_owned()
            }
        };
        let reply = if upper.starts_with("EHLO ") {
            if rules.no_ehlo {
                "502 5.5.2 Error: command not recognized".to_owned()
            } else {
                current.hello.clone_from(&line);
                format!(
                    "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n{}250-AUTH {}\r\n250 8BITMIME",
                    if offer_starttls {
                        "250-STARTTLS\r\n"
                    } else {
                        ""
                    },
                    rules.mechanisms
                )
            }
        } else if upper == "STARTTLS" && offer_starttls {
            if !say(&mut write, "220 2.0.0 Ready to start TLS").await {
                return None;
            }
            // Anything the client pipelined after STARTTLS would be plain text smuggled into the TLS
            // session; a well-behaved client sends nothing until the handshake.
            assert!(reader.buffer().is_empty(), "nothing after STARTTLS");
            return Some(reader.into_inner().unsplit(write));
        } else if upper.starts_with("HELO ") {
            current.hello.clone_from(&line);
            "250 sink.test".to_owned()
        } else if upper.starts_with("AUTH PLAIN") {
            let mut token = line["AUTH PLAIN".len()..].trim().to_owned();
            if token.is_empty() {
                say(&mut write, "334 ").await;
                token = read_line(&mut reader).await.unwrap_or_default();
            }
            let decoded = String::from_utf8(BASE64.decode(token).unwrap()).unwrap();
            let parts: Vec<&str> = decoded.split('\0').collect();
            assert_eq!(parts.len(), 3, "authzid, user and password");
            check_login(parts[1].to_owned(), parts[2].to_owned())
        } else if upper == "AUTH LOGIN" {
            say(&mut write, "334 VXNlcm5hbWU6").await;
            let user = read_line(&mut reader).await.unwrap_or_default();
            say(&mut write, "334 UGFzc3dvcmQ6").await;
            let password = read_line(&mut reader).await.unwrap_or_default();
            let decode = |b: String| String::from_utf8(BASE64.decode(b).unwrap()).unwrap();
            check_login(decode(user), decode(password))
        } else if upper.starts_with("MAIL FROM:") {
            if rules.require_auth.is_some() && current.login.is_none() {
                "530 5.7.0 Authentication required".to_owned()
            } else {
                current.mail_from = path_of(&line);
                "250 2.1.0 Ok".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            let to = path_of(&line);
            if rules.refuse_rcpt {
                format!(
                    "550 5.1.1 <{to}>: Recipient address rejected: User unknown in virtual mailbox table"
                )
            } else {
                current.rcpt_to.push(to);
                "250 2.1.5 Ok".to_owned()
            }
        } else if upper == "DATA" {
            say(&mut write, "354 End data with <CR><LF>.<CR><LF>").await;
            let mut delivery = current.clone();
            loop {
                let mut raw = String::new();
                if reader.read_line(&mut raw).await.unwrap_or(0) == 0 {
                    return None;
                }
                if raw == ".\r\n" {
                    break;
                }
                delivery.wire.push_str(&raw);
                delivery
                    .message
                    .push_str(raw.strip_prefix('.').unwrap_or(&raw));
            }
            record.lock().unwrap().deliveries.push(delivery);
            current.mail_from.clear();
            current.rcpt_to.clear();
            "250 2.0.0 Ok: queued as 4F3A2B1C9D".to_owned()
        } else if upper == "QUIT" {
            say(&mut write, "221 2.0.0 Bye").await;
            return None;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok".to_owned()
        } else {
            "500 5.5.2 Error: command not recognized".to_owned()
        };
        if !say(&mut write, &reply).await {
            return None;
        }
    }
    None
}

// ------------------------------------------------------------------ reading the message back

fn split_message(message: &str) -> (&str, &str) {
    message.split_once("\r\n\r\n").unwrap()
}

/// A header's value, unfolded.
fn header(message: &str, name: &str) -> String {
    let (head, _) = split_message(message);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let prefix = format!("{name}: ");
    let mut found = unfolded
        .split("\r\n")
        .filter_map(|line| line.strip_prefix(&prefix));
    let value = found
        .next()
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_owned();
    assert!(found.next().is_none(), "one {name} header");
    value
}

/// Decode RFC 2047 `B` encoded words; white space between two encoded words is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for token in value.split_whitespace() {
        let decoded = token
            .strip_prefix("=?UTF-8?B?")
            .and_then(|t| t.strip_suffix("?="))
            .map(|inner| String::from_utf8(BASE64.decode(inner).unwrap()).unwrap());
        let encoded = decoded.is_some();
        // Only the space between two encoded words is not part of the text.
        let joined = encoded && previous_encoded;
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        out.push_str(&decoded.unwrap_or_else(|| token.to_owned()));
        previous_encoded = encoded;
    }
    out
}

/// Decode a quoted-printable body into text with `\n` line ends.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let mut bytes = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' {
            let hex = std::str::from_utf8(&tail[..2]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            rest = &tail[2..];
        } else {
            assert!(b.is_ascii(), "quoted-printable is ASCII");
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

/// The body's text (the message ends with the CRLF after the last body line).
fn body_text(message: &str) -> String {
    let (_, body) = split_message(message);
    decode_quoted_printable(body.strip_suffix("\r\n").unwrap())
}

// ------------------------------------------------------------------ helpers

fn config(sink: SocketAddr) -> SmtpConfig {
    SmtpConfig::new(sink.ip().to_string(), sink.port(), FROM).with_timeout(Duration::from_secs(5))
}

fn sender(config: SmtpConfig) -> SmtpSender {
    SmtpSender::new(config, test_clock().shared()).unwrap()
}

fn email(subject: &str, text: &str) -> Email {
    Email {
        to: TO.to_owned(),
        subject: subject.to_owned(),
        text: text.to_owned(),
    }
}

fn gateway_error(result: Result<(), SendError>) -> String {
    match result {
        Err(SendError::Gateway(text)) => text,
        other => panic!("expected a gateway error, got {other:?}"),
    }
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn delivers_a_chinese_notice_with_encoded_headers() {
    let sink = Sink::start(Rules::default()).await;
    let subject = "您的办件《企业开办一件事》已受理，请留意后续通知（受理编号 SL2026030200001）";
    let text = "张三您好：\n您于2026年3月2日申请的「企业设立登记、公章刻制、发票申领、社保登记、公积金缴存登记」已受理，承诺办结时限为3个工作日。\n如有疑问请致电 12345 = 政务服务便民热线。\n";
    sender(config(sink.addr))
        .send_email(&email(subject, text))
        .await
        .unwrap();

    let deliveries = sink.deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert!(d.hello.starts_with("EHLO "), "{}", d.hello);
    assert!(!d.tls, "the sink offers no STARTTLS");
    assert_eq!(d.mail_from, FROM);
    assert_eq!(d.rcpt_to, [TO]);
    assert_eq!(d.login, None, "no AUTH without credentials");

    let m = &d.message;
    assert!(m.is_ascii(), "7-bit clean: no relay needs 8BITMIME");
    assert!(
        !m.replace("\r\n", "").contains(['\r', '\n']),
        "no bare CR or LF"
    );
    for line in m.split("\r\n") {
        assert!(line.len() <= 78, "line too long: {line}");
    }
    assert_eq!(decode_words(&header(m, "Subject")), subject);
    assert_eq!(
        decode_words(&header(m, "From")),
        format!("一网通办 <{FROM}>")
    );
    assert_eq!(header(m, "To"), TO);
    assert_eq!(
        header(m, "Date"),
        "Mon, 2 Mar 2026 09:00:00 +0800",
        "from the injected clock, in China time"
    );
    let id = header(m, "Message-ID");
    assert!(
        id.starts_with("<20260302010000.") && id.ends_with("@zwfw.example.gov.cn>"),
        "{id}"
    );
    assert_eq!(header(m, "MIME-Version"), "1.0");
    assert_eq!(header(m, "Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(header(m, "Content-Transfer-Encoding"), "quoted-printable");
    assert_eq!(header(m, "Auto-Submitted"), "auto-generated");
    assert_eq!(body_text(m), text);
    assert!(
        sink.commands().last().is_some_and(|c| c == "QUIT"),
        "the client says goodbye"
    );

    // Two messages get two different ids, even at the same instant.
    sender(config(sink.addr))
        .send_email(&email(subject, text))
        .await
        .unwrap();
    let second = header(&sink.deliveries()[1].message, "Message-ID");
    assert_ne!(id, second);
}

#[tokio::test]
async fn lines_starting_with_a_dot_are_stuffed() {
    let sink = Sink::start(Rules::default()).await;
    let text = "第一行\n.\n..两个点\n.hidden 文件\n最后一行";
    sender(config(sink.addr))
        .send_email(&email("点", text))
        .await
        .unwrap();
    let deliveries = sink.deliveries();
    assert_eq!(
        deliveries.len(),
        1,
        "the lone dot did not end the message early"
    );
    let d = &deliveries[0];
    assert!(d.wire.contains("\r\n..\r\n"), "{}", d.wire);
    assert!(d.wire.contains("\r\n...=E4=B8=A4"), "{}", d.wire);
    assert!(d.wire.contains("\r\n..hidden"), "{}", d.wire);
    assert_eq!(body_text(&d.message), text);
}

#[tokio::test]
async fn authenticates_with_plain_or_login_when_configured() {
    let rules = Rules {
        require_auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Rules::default()
    };
    let plain = Sink::start(rules.clone()).await;
    let credentials = SmtpCredentials::new(USER, PASSWORD);
    sender(config(plain.addr).with_credentials(credentials.clone()))
        .send_email(&email("登录", "正文"))
        .await
        .unwrap();
    let d = &plain.deliveries()[0];
    assert_eq!(d.login, Some((USER.to_owned(), PASSWORD.to_owned())));
    assert!(
        plain
            .commands()
            .iter()
            .any(|c| c.starts_with("AUTH PLAIN "))
    );

    let login_only = Sink::start(Rules {
        mechanisms: "LOGIN",
        ..rules.clone()
    })
    .await;
    sender(config(login_only.addr).with_credentials(credentials.clone()))
        .send_email(&email("登录", "正文"))
        .await
        .unwrap();
    assert_eq!(login_only.deliveries().len(), 1);
    assert!(login_only.commands().iter().any(|c| c == "AUTH LOGIN"));

    let missing = gateway_error(
        sender(config(plain.addr))
            .send_email(&email("登录", "正文"))
            .await,
    );
    assert!(
        missing.contains("530") && missing.contains("Authentication required"),
        "{missing}"
    );

    let wrong = gateway_error(
        sender(config(plain.addr).with_credentials(SmtpCredentials::new(USER, "wrong-口令")))
            .send_email(&email("登录", "正文"))
            .await,
    );
    assert!(wrong.contains("535"), "{wrong}");
    assert!(!wrong.contains("wrong-口令"), "{wrong}");

    let cram_only = Sink::start(Rules {
        mechanisms: "CRAM-MD5",
        ..rules
    })
    .await;
    let unsupported = gateway_error(
        sender(config(cram_only.addr).with_credentials(credentials.clone()))
            .send_email(&email("登录", "正文"))
            .await,
    );
    assert!(
        unsupported.contains("No compatible authentication mechanism"),
        "{unsupported}"
    );
    assert!(
        !cram_only
            .commands()
            .iter()
            .any(|c| c.starts_with("MAIL FROM")),
        "nothing sent without the log-in"
    );
    assert_eq!(
        plain.deliveries().len(),
        1,
        "refused attempts delivered nothing"
    );
}

#[tokio::test]
async fn a_server_without_ehlo_is_reported_with_its_reply() {
    // lettre speaks ESMTP only; a relay from before RFC 1869 is named in the job's error.
    let sink = Sink::start(Rules {
        no_ehlo: true,
        ..Rules::default()
    })
    .await;
    let text = gateway_error(
        sender(config(sink.addr))
            .send_email(&email("旧服务器", "正文"))
            .await,
    );
    assert!(text.contains("502"), "{text}");
    assert!(sink.deliveries().is_empty());
}

#[tokio::test]
async fn a_refused_recipient_is_a_gateway_error_naming_550() {
    let sink = Sink::start(Rules {
        refuse_rcpt: true,
        ..Rules::default()
    })
    .await;
    let text = gateway_error(
        sender(config(sink.addr))
            .send_email(&email("办件", "正文"))
            .await,
    );
    assert!(text.contains("550") && text.contains("5.1.1"), "{text}");
    assert!(text.contains("User unknown"), "{text}");
    assert!(
        !text.contains(TO) && text.contains("z***@example.com"),
        "job errors are stored in plain text, so the address is masked: {text}"
    );
    assert!(sink.deliveries().is_empty());
    assert!(sink.commands().contains(&"QUIT".to_owned()));
}

/// On paused time: the silent relay's timeout elapses on tokio's clock the moment nothing else can run,
/// so the test neither waits half a second nor depends on how busy the machine is.
#[tokio::test(start_paused = true)]
async fn unreachable_and_silent_relays_fail_within_the_timeout() {
    // A port nobody listens on: bind one, then let it go.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let timeout = Duration::from_millis(500);
    let started = tokio::time::Instant::now();
    let text = gateway_error(
        sender(config(closed).with_timeout(timeout))
            .send_email(&email("办件", "正文"))
            .await,
    );
    assert!(text.contains("Connection error"), "{text}");
    assert!(
        started.elapsed() <= timeout,
        "a refused connection fails at once"
    );

    let silent = Sink::start(Rules {
        silent: true,
        ..Rules::default()
    })
    .await;
    let started = tokio::time::Instant::now();
    let text = gateway_error(
        sender(config(silent.addr).with_timeout(timeout))
            .send_email(&email("办件", "正文"))
            .await,
    );
    let waited = started.elapsed();
    assert!(text.contains("no answer within 0.5s"), "{text}");
    assert_eq!(
        waited, timeout,
        "the relay is waited for exactly the timeout"
    );
}

#[tokio::test]
async fn bad_settings_and_recipients_are_refused_up_front() {
    let clock = test_clock().shared();
    let err = SmtpSender::new(SmtpConfig::new("", 25, FROM), clock.clone()).unwrap_err();
    assert!(err.to_string().contains("smtp.host"), "{err}");
    let err =
        SmtpSender::new(SmtpConfig::new("127.0.0.1", 25, "noreply"), clock.clone()).unwrap_err();
    assert!(err.to_string().contains("smtp.from"), "{err}");

    let sink = Sink::start(Rules::default()).await;
    let smtp = sender(config(sink.addr));
    let injected = Email {
        to: "a@example.com>\r\nRCPT TO:<b@example.com".to_owned(),
        ..email("办件", "正文")
    };
    assert!(matches!(
        smtp.send_email(&injected).await,
        Err(SendError::Malformed(_))
    ));
    let sms = Sms {
        to: Mobile::parse(MOBILE_A).unwrap(),
        text: "短信".to_owned(),
    };
    assert!(matches!(
        smtp.send_sms(&sms).await,
        Err(SendError::Gateway(_))
    ));
    assert!(sink.commands().is_empty(), "nothing was sent");
}

fn tls_config(sink: SocketAddr, tls: SmtpTls) -> SmtpConfig {
    config(sink)
        .with_tls(tls)
        .with_root_certificate(CA_PEM.to_vec())
}

#[tokio::test]
async fn starttls_and_implicit_tls_carry_the_message_and_the_login() {
    let credentials = SmtpCredentials::new(USER, PASSWORD);
    for (mode, sink_tls) in [
        (SmtpTls::StartTls, SinkTls::StartTls),
        (SmtpTls::Opportunistic, SinkTls::StartTls),
        (SmtpTls::Implicit, SinkTls::Implicit),
    ] {
        let sink = Sink::start(Rules {
            tls: sink_tls,
            require_auth: Some((USER.to_owned(), PASSWORD.to_owned())),
            ..Rules::default()
        })
        .await;
        sender(tls_config(sink.addr, mode).with_credentials(credentials.clone()))
            .send_email(&email("加密", "正文 over TLS"))
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let deliveries = sink.deliveries();
        assert_eq!(deliveries.len(), 1, "{mode:?}");
        assert!(deliveries[0].tls, "{mode:?}: the message went over TLS");
        assert_eq!(
            deliveries[0].login,
            Some((USER.to_owned(), PASSWORD.to_owned())),
            "{mode:?}"
        );
        assert_eq!(body_text(&deliveries[0].message), "正文 over TLS");
        let commands = sink.commands();
        if sink_tls == SinkTls::StartTls {
            let starttls = commands.iter().position(|c| c == "STARTTLS");
            let auth = commands.iter().position(|c| c.starts_with("AUTH "));
            assert!(
                starttls.is_some() && starttls < auth,
                "{mode:?}: AUTH only after STARTTLS: {commands:?}"
            );
        }
    }
}

#[tokio::test]
async fn required_tls_fails_closed() {
    // STARTTLS required, but the relay does not offer it: nothing goes out in the clear.
    let plain = Sink::start(Rules::default()).await;
    let text = gateway_error(
        sender(tls_config(plain.addr, SmtpTls::StartTls))
            .send_email(&email("办件", "正文"))
            .await,
    );
    assert!(text.contains(&plain.addr.to_string()), "{text}");
    assert!(plain.deliveries().is_empty());
    assert!(
        !plain.commands().iter().any(|c| c.starts_with("MAIL FROM")),
        "{:?}",
        plain.commands()
    );

    // A certificate from a CA the client was not told to trust.
    for (mode, sink_tls) in [
        (SmtpTls::StartTls, SinkTls::StartTls),
        (SmtpTls::Implicit, SinkTls::Implicit),
    ] {
        let sink = Sink::start(Rules {
            tls: sink_tls,
            ..Rules::default()
        })
        .await;
        let untrusted = config(sink.addr).with_tls(mode);
        let text = gateway_error(sender(untrusted).send_email(&email("办件", "正文")).await);
        assert!(
            text.contains("TLS") || text.to_lowercase().contains("certificate"),
            "{mode:?}: {text}"
        );
        assert!(sink.deliveries().is_empty(), "{mode:?}");
    }
}

#[test]
fn credentials_travel_only_over_tls_or_to_this_machine() {
    let clock = test_clock().shared();
    let credentials = SmtpCredentials::new(USER, PASSWORD);
    for tls in [SmtpTls::None, SmtpTls::Opportunistic] {
        let remote = SmtpConfig::new("relay.example.gov.cn", 25, FROM)
            .with_tls(tls)
            .with_credentials(credentials.clone());
        let err = SmtpSender::new(remote, clock.clone()).unwrap_err();
        assert!(err.to_string().contains("smtp.tls"), "{err}");
        let local = SmtpConfig::new("127.0.0.1", 25, FROM)
            .with_tls(tls)
            .with_credentials(credentials.clone());
        assert!(SmtpSender::new(local, clock.clone()).is_ok());
    }
    let remote = SmtpConfig::new("relay.example.gov.cn", 587, FROM)
        .with_tls(SmtpTls::StartTls)
        .with_credentials(credentials);
    assert!(SmtpSender::new(remote, clock.clone()).is_ok());
    let bad_ca = SmtpConfig::new("relay.example.gov.cn", 465, FROM)
        .with_tls(SmtpTls::Implicit)
        .with_root_certificate(b"not a certificate".to_vec());
    let err = SmtpSender::new(bad_ca, clock).unwrap_err();
    assert!(err.to_string().contains("smtp.ca_file"), "{err}");
    for (text, mode) in [
        ("none", SmtpTls::None),
        ("STARTTLS", SmtpTls::StartTls),
        ("tls", SmtpTls::Implicit),
        ("opportunistic", SmtpTls::Opportunistic),
    ] {
        assert_eq!(SmtpTls::parse(text), Some(mode));
    }
    assert_eq!(SmtpTls::parse("ssl3"), None);
}

async fn notify_email_jobs_go_out_over_smtp(t: &TestDb) {
    let clock = test_clock();
    let shared: SharedClock = clock.shared();
    let pii = Arc::new(test_pii());
    let mut rng = StdRng::seed_from_u64(11);
    let subject = "您的办件已办结";
    let text =
        "您申请的「个体工商户设立登记」已办结，请于5个工作日内到政务服务中心3号窗口领取营业执照。";
    let enqueue = async |kind: &str, to: &str, rng: &mut StdRng| {
        jobs::enqueue(
            t.db.conn(),
            clock.now(),
            &NewJob::new(
                kind,
                seal_message(
                    &pii,
                    &serde_json::json!({ "to": to, "template": "notice",
                        "params": { "subject": subject, "text": text } }),
                    rng,
                ),
            ),
        )
        .await
        .unwrap()
        .unwrap()
    };
    enqueue("notify.email", TO, &mut rng).await;
    enqueue("notify.sms", MOBILE_A, &mut rng).await;

    let sink = Sink::start(Rules::default()).await;
    let smtp = SmtpSender::new(config(sink.addr), shared.clone()).unwrap();
    // As the server combines them: SMS to the log, email to the relay.
    let routing = RoutingSender::new(Arc::new(LogSender::default()), Arc::new(smtp));
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), shared.clone(), "smtp-worker"));
    register_notify_handlers(&mut worker, Arc::new(routing), Arc::clone(&pii));
    assert_eq!(worker.run_once().await.unwrap(), 2);
    let done = jobs::list(&t.db, JobStatus::Done, 10).await.unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    let deliveries = sink.deliveries();
    assert_eq!(deliveries.len(), 1, "only the email went to the relay");
    assert_eq!(deliveries[0].rcpt_to, [TO]);
    assert_eq!(
        decode_words(&header(&deliveries[0].message, "Subject")),
        subject
    );
    assert_eq!(body_text(&deliveries[0].message), text);

    // A refusal fails the attempt: the job waits for its retry with the reply code as its error.
    let refusing = Sink::start(Rules {
        refuse_rcpt: true,
        ..Rules::default()
    })
    .await;
    let id = enqueue("notify.email", TO, &mut rng).await;
    let smtp = SmtpSender::new(config(refusing.addr), shared.clone()).unwrap();
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), shared, "smtp-worker"));
    register_notify_handlers(&mut worker, Arc::new(smtp), pii);
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let pending = jobs::list(&t.db, JobStatus::Pending, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(pending[0].attempts, 1);
    assert!(pending[0].run_at > clock.now(), "retried after a backoff");
    let error = pending[0].last_error.as_deref().unwrap();
    assert!(error.contains("550"), "{error}");
    assert!(!error.contains(TO), "{error}");
    assert!(refusing.deliveries().is_empty());
}
db_test!(notify_email_jobs_go_out_over_smtp);
