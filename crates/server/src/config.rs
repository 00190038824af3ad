//! Configuration: defaults, then a TOML file (`--config`), then `YIWANG_*` environment variables, then
//! command-line flags. One typed struct; secrets are wrapped so they never print.

use std::fmt;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::proxy::{ForwardedHeader, TrustedProxies};

/// A value that must never appear in logs or output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "(not set)"
        } else {
            "(secret)"
        })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data directory. Kept secret because it may carry a password.
    pub database_url: Option<Secret>,
    pub region_code: String,
    pub cookie_secure: bool,
    pub max_body_bytes: usize,
    /// Largest material file an applicant may upload (the upload routes accept this much).
    pub max_material_bytes: usize,
    /// Two characters in every case number that tell this platform apart within a federation.
    pub platform_code: String,
    pub log_format: LogFormat,
    /// Run the job worker in this process.
    pub worker: bool,
    /// SM4 key (32 hex digits) for personal data at rest; used by the identity domain.
    pub pii_key: Secret,
    /// Write the text of SMS and email messages (one-time codes included) to the log. Only for demo and
    /// test installations that have no message gateway; `yiwang demo` turns it on.
    pub log_message_text: bool,
    /// The SMTP relay for email (`[smtp]`); without it email is only logged, like SMS.
    pub smtp: Option<SmtpSettings>,
    /// Seconds a client has to send a complete request head, counted from when the server starts
    /// waiting for it (so an idle keep-alive connection is closed after this long too).
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may go without a byte read or written before it is closed (a stalled
    /// upload, a client that stops reading its response). Longer than the 60-second request timeout.
    pub idle_timeout_secs: u64,
    /// Reverse proxies whose forwarding header names the client (`trusted_proxies`, `forwarded_header`).
    /// Empty: every client is its TCP peer and forwarding headers are ignored.
    pub trusted_proxies: TrustedProxies,
    /// HMAC-SM3 key (at least 32 hex digits) anchoring the audit chain's head; without it the chain is
    /// only hash-linked, which cannot reveal a consistently rewritten tail.
    pub audit_key: Secret,
    /// Audit keys rotated out (`audit_old_keys`): still used to check the anchors they made.
    pub audit_old_keys: Vec<Secret>,
    /// Minutes between two audit anchors written by a serving node.
    pub audit_anchor_minutes: u64,
    /// Abuse limits per scope (`[limits]`, each `{ limit = N, window_secs = S }`); defaults in
    /// [`yiwang_web::throttle::LimitRules`].
    pub limits: yiwang_web::throttle::LimitRules,
    /// Material files (`[materials]`): quotas, how long unattached files are kept, the sealing keys.
    pub materials: MaterialSettings,
    /// E-licences (`[licenses]`): the key sealing the departments' SM2 private keys.
    pub licenses: LicenseSettings,
    /// Ratings (`[ratings]`): the SMS link key and the rectification periods.
    pub ratings: RatingSettings,
    /// Where claims to represent an enterprise are checked: the `http://` URL of an enterprise register
    /// service (see `docs/api.md`), or `demo` for the demo's register extract. Unset: every claim is held
    /// for a clerk's check.
    pub enterprise_register: Option<String>,
    /// Bearer token sent to the enterprise register service, if it wants one.
    pub enterprise_register_token: Secret,
    /// Bearer token of the metrics scraper for `/metrics` (platform administrators read it with their
    /// session). Empty: only administrators; everyone else gets 404.
    pub metrics_token: Secret,
    /// Seconds between two checks of each node for catalog changes its search index has not seen
    /// (changes made on this node are indexed at once).
    pub index_catch_up_secs: u64,
}

/// The `[materials]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialSettings {
    pub max_files_per_person: u64,
    pub max_bytes_per_person: u64,
    pub unattached_days: u32,
    /// SM4 key (32 hex digits) sealing material objects; empty: derived from the PII key.
    pub key: Secret,
    /// Keys of earlier rotations, still accepted for reading.
    pub previous_keys: Vec<Secret>,
}

impl Default for MaterialSettings {
    fn default() -> Self {
        let policy = yiwang_cases::files::FilePolicy::default();
        Self {
            max_files_per_person: policy.max_files_per_person,
            max_bytes_per_person: policy.max_bytes_per_person,
            unattached_days: policy.unattached_days,
            key: Secret::default(),
            previous_keys: Vec::new(),
        }
    }
}

/// The `[licenses]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseSettings {
    /// SM4 key (32 hex digits) sealing the seal keys' SM2 private keys; empty: derived from the PII
    /// key.
    pub seal_key: Secret,
    /// Seal keys of earlier rotations of this setting, still accepted for opening private keys.
    pub previous_seal_keys: Vec<Secret>,
}

/// The `[ratings]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingSettings {
    /// HMAC-SM3 key (at least 32 hex digits) signing SMS rating links; empty: derived from the PII
    /// key.
    pub link_key: Secret,
    /// Working days to verify a 差评 and contact the rater (1–5).
    pub contact_days: u32,
    /// Working days to rectify a 差评 (1–15; 5 by default).
    pub rectify_days: u32,
    /// Natural days after rating during which one 追评 may be added (1–180).
    pub follow_up_days: u32,
    /// Natural days an SMS rating link stays valid (1–30).
    pub link_days: u32,
    /// Invite the applicant to rate by SMS (a one-use link) when their case is concluded.
    pub invite_on_conclusion: bool,
}

impl Default for RatingSettings {
    fn default() -> Self {
        let defaults = yiwang_ratings::RatingsConfig::new(Vec::new());
        Self {
            link_key: Secret::default(),
            contact_days: defaults.contact_days,
            rectify_days: defaults.rectify_days,
            follow_up_days: defaults.follow_up_days,
            link_days: defaults.link_days,
            invite_on_conclusion: true,
        }
    }
}

/// `[ratings]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRatings {
    link_key: Option<String>,
    contact_days: Option<u32>,
    rectify_days: Option<u32>,
    follow_up_days: Option<u32>,
    link_days: Option<u32>,
    invite_on_conclusion: Option<bool>,
}

/// `[licenses]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLicenses {
    seal_key: Option<String>,
    previous_seal_keys: Option<Vec<String>>,
}

/// `[materials]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMaterials {
    max_files_per_person: Option<u64>,
    max_bytes_per_person: Option<u64>,
    unattached_days: Option<u32>,
    key: Option<String>,
    previous_keys: Option<Vec<String>>,
}

/// The `[smtp]` section: email goes to this relay over plain TCP (see `docs/operations.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// Envelope sender and `From` address.
    pub from: String,
    /// AUTH when set (together with the password).
    pub username: Option<String>,
    pub password: Secret,
    /// Bound on connecting and on each reply of the relay.
    pub timeout_secs: u64,
    /// How the connection is secured; `None` picks by port (see [`SmtpSettings::effective_tls`]).
    pub tls: Option<yiwang_notify::SmtpTls>,
    /// A PEM file of a CA to trust besides the public roots (an internal relay's CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            from: String::new(),
            username: None,
            password: Secret::default(),
            timeout_secs: 30,
            tls: None,
            ca_file: None,
        }
    }
}

impl SmtpSettings {
    /// The TLS mode in effect: as configured, else implicit TLS on port 465, else STARTTLS required when
    /// credentials would cross the network, else STARTTLS whenever the relay offers it.
    pub fn effective_tls(&self) -> yiwang_notify::SmtpTls {
        use yiwang_notify::SmtpTls;
        self.tls.unwrap_or(if self.port == 465 {
            SmtpTls::Implicit
        } else if self.username.is_some() {
            SmtpTls::StartTls
        } else {
            SmtpTls::Opportunistic
        })
    }

    /// [`Self::sender_config`] with the CA file read.
    pub fn sender_config_with_ca(&self) -> anyhow::Result<yiwang_identity::SmtpConfig> {
        let config = self.sender_config();
        match &self.ca_file {
            None => Ok(config),
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read smtp.ca_file {}", path.display()))?;
                Ok(config.with_root_certificate(pem))
            }
        }
    }

    /// The identity domain's sender settings.
    pub fn sender_config(&self) -> yiwang_identity::SmtpConfig {
        let config = yiwang_identity::SmtpConfig::new(&self.host, self.port, &self.from)
            .with_timeout(std::time::Duration::from_secs(self.timeout_secs))
            .with_tls(self.effective_tls());
        match &self.username {
            Some(username) => config.with_credentials(yiwang_identity::SmtpCredentials::new(
                username,
                self.password.expose(),
            )),
            None => config,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            region_code: "340100".to_owned(),
            cookie_secure: false,
            max_body_bytes: 2 * 1024 * 1024,
            max_material_bytes: 10 * 1024 * 1024,
            platform_code: "01".to_owned(),
            log_format: LogFormat::Text,
            worker: true,
            pii_key: Secret::default(),
            log_message_text: false,
            smtp: None,
            header_read_timeout_secs: 15,
            idle_timeout_secs: 120,
            trusted_proxies: TrustedProxies::default(),
            audit_key: Secret::default(),
            audit_old_keys: Vec::new(),
            audit_anchor_minutes: 10,
            limits: yiwang_web::throttle::LimitRules::default(),
            materials: MaterialSettings::default(),
            licenses: LicenseSettings::default(),
            ratings: RatingSettings::default(),
            enterprise_register: None,
            enterprise_register_token: Secret::default(),
            metrics_token: Secret::default(),
            index_catch_up_secs: 30,
        }
    }
}

/// The TOML file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    region_code: Option<String>,
    cookie_secure: Option<bool>,
    max_body_bytes: Option<usize>,
    max_material_bytes: Option<usize>,
    platform_code: Option<String>,
    log_format: Option<String>,
    worker: Option<bool>,
    pii_key: Option<String>,
    log_message_text: Option<bool>,
    smtp: Option<FileSmtp>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
    forwarded_header: Option<String>,
    audit_key: Option<String>,
    audit_old_keys: Option<Vec<String>>,
    audit_anchor_minutes: Option<u64>,
    limits: Option<yiwang_web::throttle::LimitRules>,
    materials: Option<FileMaterials>,
    licenses: Option<FileLicenses>,
    ratings: Option<FileRatings>,
    enterprise_register: Option<String>,
    enterprise_register_token: Option<String>,
    metrics_token: Option<String>,
    index_catch_up_secs: Option<u64>,
}

/// `[smtp]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    host: Option<String>,
    port: Option<u16>,
    from: Option<String>,
    username: Option<String>,
    password: Option<String>,
    timeout_secs: Option<u64>,
    tls: Option<String>,
    ca_file: Option<PathBuf>,
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub addr: Option<String>,
}

impl Config {
    /// Build the configuration from all sources; `env` is passed in so tests can supply their own.
    pub fn load(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut config = Config::default();
        if let Some(path) = &overrides.config_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            // Only the message and position: the toml error's own text quotes the offending line, which may
            // hold a secret.
            let file: FileConfig = toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
                anyhow::anyhow!(
                    "the configuration file {} is not valid{}: {}",
                    path.display(),
                    line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                    e.message()
                )
            })?;
            config.apply_file(file)?;
        }
        config.apply_env(env)?;
        if let Some(dir) = &overrides.data_dir {
            config.data_dir.clone_from(dir);
        }
        if let Some(addr) = &overrides.addr {
            config.addr = parse_addr(addr, "--addr")?;
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig) -> anyhow::Result<()> {
        if let Some(v) = file.addr {
            self.addr = parse_addr(&v, "addr")?;
        }
        if let Some(v) = file.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = file.database_url {
            self.database_url = Some(Secret::new(v));
        }
        if let Some(v) = file.region_code {
            self.region_code = v;
        }
        if let Some(v) = file.cookie_secure {
            self.cookie_secure = v;
        }
        if let Some(v) = file.max_body_bytes {
            self.max_body_bytes = v;
        }
        if let Some(v) = file.max_material_bytes {
            self.max_material_bytes = v;
        }
        if let Some(v) = file.platform_code {
            self.platform_code = v;
        }
        if let Some(v) = file.log_format {
            self.log_format = parse_log_format(&v, "log_format")?;
        }
        if let Some(v) = file.worker {
            self.worker = v;
        }
        if let Some(v) = file.pii_key {
            self.pii_key = Secret::new(v);
        }
        if let Some(v) = file.log_message_text {
            self.log_message_text = v;
        }
        if let Some(v) = file.header_read_timeout_secs {
            self.header_read_timeout_secs = v;
        }
        if let Some(v) = file.idle_timeout_secs {
            self.idle_timeout_secs = v;
        }
        if let Some(v) = file.enterprise_register {
            self.enterprise_register = Some(v);
        }
        if let Some(v) = file.enterprise_register_token {
            self.enterprise_register_token = Secret::new(v);
        }
        if let Some(v) = file.metrics_token {
            self.metrics_token = Secret::new(v);
        }
        if let Some(v) = file.index_catch_up_secs {
            self.index_catch_up_secs = v;
        }
        let header = match &file.forwarded_header {
            Some(v) => parse_forwarded_header(v, "forwarded_header")?,
            None => self.trusted_proxies.header(),
        };
        let nets = match &file.trusted_proxies {
            Some(list) => TrustedProxies::parse(list, header)
                .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
            None => TrustedProxies::new(self.trusted_proxies.nets().to_vec(), header),
        };
        self.trusted_proxies = nets;
        if let Some(v) = file.audit_key {
            self.audit_key = Secret::new(v);
        }
        if let Some(v) = file.audit_old_keys {
            self.audit_old_keys = v.into_iter().map(Secret::new).collect();
        }
        if let Some(v) = file.audit_anchor_minutes {
            self.audit_anchor_minutes = v;
        }
        if let Some(v) = file.limits {
            self.limits = v;
        }
        if let Some(m) = file.materials {
            let materials = &mut self.materials;
            if let Some(v) = m.max_files_per_person {
                materials.max_files_per_person = v;
            }
            if let Some(v) = m.max_bytes_per_person {
                materials.max_bytes_per_person = v;
            }
            if let Some(v) = m.unattached_days {
                materials.unattached_days = v;
            }
            if let Some(v) = m.key {
                materials.key = Secret::new(v);
            }
            if let Some(v) = m.previous_keys {
                materials.previous_keys = v.into_iter().map(Secret::new).collect();
            }
        }
        if let Some(l) = file.licenses {
            if let Some(v) = l.seal_key {
                self.licenses.seal_key = Secret::new(v);
            }
            if let Some(v) = l.previous_seal_keys {
                self.licenses.previous_seal_keys = v.into_iter().map(Secret::new).collect();
            }
        }
        if let Some(r) = file.ratings {
            let ratings = &mut self.ratings;
            if let Some(v) = r.link_key {
                ratings.link_key = Secret::new(v);
            }
            if let Some(v) = r.contact_days {
                ratings.contact_days = v;
            }
            if let Some(v) = r.rectify_days {
                ratings.rectify_days = v;
            }
            if let Some(v) = r.follow_up_days {
                ratings.follow_up_days = v;
            }
            if let Some(v) = r.link_days {
                ratings.link_days = v;
            }
            if let Some(v) = r.invite_on_conclusion {
                ratings.invite_on_conclusion = v;
            }
        }
        if let Some(file) = file.smtp {
            // An `[smtp]` section, even an empty one, asks for SMTP; validation names what it lacks.
            let smtp = self.smtp.get_or_insert_with(SmtpSettings::default);
            if let Some(v) = file.host {
                smtp.host = v;
            }
            if let Some(v) = file.port {
                smtp.port = v;
            }
            if let Some(v) = file.from {
                smtp.from = v;
            }
            if let Some(v) = file.username {
                smtp.username = Some(v);
            }
            if let Some(v) = file.password {
                smtp.password = Secret::new(v);
            }
            if let Some(v) = file.timeout_secs {
                smtp.timeout_secs = v;
            }
            if let Some(v) = file.tls {
                smtp.tls = Some(parse_smtp_tls(&v, "smtp.tls")?);
            }
            if let Some(v) = file.ca_file {
                smtp.ca_file = Some(v);
            }
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("YIWANG_ADDR") {
            self.addr = parse_addr(&v, "YIWANG_ADDR")?;
        }
        if let Some(v) = get("YIWANG_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("YIWANG_DATABASE_URL") {
            self.database_url = Some(Secret::new(v));
        }
        if let Some(v) = get("YIWANG_REGION_CODE") {
            self.region_code = v;
        }
        if let Some(v) = get("YIWANG_COOKIE_SECURE") {
            self.cookie_secure = parse_bool(&v, "YIWANG_COOKIE_SECURE")?;
        }
        if let Some(v) = get("YIWANG_MAX_BODY_BYTES") {
            self.max_body_bytes = v.parse().with_context(|| {
                format!("YIWANG_MAX_BODY_BYTES must be a number of bytes, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_HEADER_READ_TIMEOUT_SECS") {
            self.header_read_timeout_secs = v.parse().with_context(|| {
                format!("YIWANG_HEADER_READ_TIMEOUT_SECS must be a number of seconds, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = v.parse().with_context(|| {
                format!("YIWANG_IDLE_TIMEOUT_SECS must be a number of seconds, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_MAX_MATERIAL_BYTES") {
            self.max_material_bytes = v.parse().with_context(|| {
                format!("YIWANG_MAX_MATERIAL_BYTES must be a number of bytes, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_PLATFORM_CODE") {
            self.platform_code = v;
        }
        if let Some(v) = get("YIWANG_LOG_FORMAT") {
            self.log_format = parse_log_format(&v, "YIWANG_LOG_FORMAT")?;
        }
        if let Some(v) = get("YIWANG_WORKER") {
            self.worker = parse_bool(&v, "YIWANG_WORKER")?;
        }
        if let Some(v) = get("YIWANG_PII_KEY") {
            self.pii_key = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_MATERIAL_KEY") {
            self.materials.key = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_LICENSES_SEAL_KEY") {
            self.licenses.seal_key = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_RATINGS_LINK_KEY") {
            self.ratings.link_key = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_RATINGS_RECTIFY_DAYS") {
            self.ratings.rectify_days = v.trim().parse().with_context(|| {
                format!("YIWANG_RATINGS_RECTIFY_DAYS must be a number of working days, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_RATINGS_INVITE_ON_CONCLUSION") {
            self.ratings.invite_on_conclusion =
                parse_bool(&v, "YIWANG_RATINGS_INVITE_ON_CONCLUSION")?;
        }
        if let Some(v) = get("YIWANG_LOG_MESSAGE_TEXT") {
            self.log_message_text = parse_bool(&v, "YIWANG_LOG_MESSAGE_TEXT")?;
        }
        if let Some(v) = get("YIWANG_ENTERPRISE_REGISTER") {
            self.enterprise_register = Some(v);
        }
        if let Some(v) = get("YIWANG_METRICS_TOKEN") {
            self.metrics_token = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_INDEX_CATCH_UP_SECS") {
            self.index_catch_up_secs = v.trim().parse().with_context(|| {
                format!("YIWANG_INDEX_CATCH_UP_SECS must be a number of seconds, got {v:?}")
            })?;
        }
        if let Some(v) = get("YIWANG_ENTERPRISE_REGISTER_TOKEN") {
            self.enterprise_register_token = Secret::new(v);
        }
        let header = match get("YIWANG_FORWARDED_HEADER") {
            Some(v) => parse_forwarded_header(&v, "YIWANG_FORWARDED_HEADER")?,
            None => self.trusted_proxies.header(),
        };
        self.trusted_proxies = match get("YIWANG_TRUSTED_PROXIES") {
            Some(v) => {
                let list: Vec<&str> = v.split(',').filter(|s| !s.trim().is_empty()).collect();
                TrustedProxies::parse(&list, header)
                    .map_err(|e| anyhow::anyhow!("YIWANG_TRUSTED_PROXIES: {e}"))?
            }
            None => TrustedProxies::new(self.trusted_proxies.nets().to_vec(), header),
        };
        if let Some(v) = get("YIWANG_AUDIT_KEY") {
            self.audit_key = Secret::new(v);
        }
        if let Some(v) = get("YIWANG_AUDIT_OLD_KEYS") {
            self.audit_old_keys = v
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| Secret::new(k.trim()))
                .collect();
        }
        if let Some(v) = get("YIWANG_AUDIT_ANCHOR_MINUTES") {
            self.audit_anchor_minutes = v.trim().parse().with_context(|| {
                format!("YIWANG_AUDIT_ANCHOR_MINUTES must be a number of minutes, got {v:?}")
            })?;
        }
        let smtp_var = |name: &str| get(&format!("YIWANG_SMTP_{name}"));
        let host = smtp_var("HOST");
        let port = smtp_var("PORT");
        let from = smtp_var("FROM");
        let username = smtp_var("USERNAME");
        let password = smtp_var("PASSWORD");
        let timeout = smtp_var("TIMEOUT_SECS");
        let tls = smtp_var("TLS");
        let ca_file = smtp_var("CA_FILE");
        // Any YIWANG_SMTP_* variable turns SMTP on, as an `[smtp]` section does.
        if [
            &host, &port, &from, &username, &password, &timeout, &tls, &ca_file,
        ]
        .iter()
        .any(|v| v.is_some())
        {
            let smtp = self.smtp.get_or_insert_with(SmtpSettings::default);
            if let Some(v) = host {
                smtp.host = v;
            }
            if let Some(v) = port {
                smtp.port = v.trim().parse().with_context(|| {
                    format!("YIWANG_SMTP_PORT must be a port number, got {v:?}")
                })?;
            }
            if let Some(v) = from {
                smtp.from = v;
            }
            if let Some(v) = username {
                smtp.username = Some(v);
            }
            if let Some(v) = password {
                smtp.password = Secret::new(v);
            }
            if let Some(v) = timeout {
                smtp.timeout_secs = v.trim().parse().with_context(|| {
                    format!("YIWANG_SMTP_TIMEOUT_SECS must be a number of seconds, got {v:?}")
                })?;
            }
            if let Some(v) = tls {
                smtp.tls = Some(parse_smtp_tls(&v, "YIWANG_SMTP_TLS")?);
            }
            if let Some(v) = ca_file {
                smtp.ca_file = Some(PathBuf::from(v));
            }
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        yiwang_kernel::RegionCode::parse(&self.region_code)
            .map_err(|e| anyhow::anyhow!("region_code {:?} is not valid: {e}", self.region_code))?;
        if self.max_body_bytes < 1024 {
            bail!(
                "max_body_bytes must be at least 1024, got {}",
                self.max_body_bytes
            );
        }
        if !(1024..=100 * 1024 * 1024).contains(&self.max_material_bytes) {
            bail!(
                "max_material_bytes must be between 1 KiB and 100 MiB, got {}",
                self.max_material_bytes
            );
        }
        if self.platform_code.len() != 2
            || !self
                .platform_code
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            bail!(
                "platform_code must be two digits or capital letters, got {:?}",
                self.platform_code
            );
        }
        if !(1..=300).contains(&self.header_read_timeout_secs) {
            bail!(
                "header_read_timeout_secs must be between 1 and 300, got {}",
                self.header_read_timeout_secs
            );
        }
        if !(1..=3600).contains(&self.idle_timeout_secs) {
            bail!(
                "idle_timeout_secs must be between 1 and 3600, got {}",
                self.idle_timeout_secs
            );
        }
        for (name, key) in std::iter::once(("materials.key", &self.materials.key))
            .chain(
                self.materials
                    .previous_keys
                    .iter()
                    .map(|k| ("materials.previous_keys", k)),
            )
            .chain(std::iter::once((
                "licenses.seal_key",
                &self.licenses.seal_key,
            )))
            .chain(
                self.licenses
                    .previous_seal_keys
                    .iter()
                    .map(|k| ("licenses.previous_seal_keys", k)),
            )
        {
            let key = key.expose();
            if !key.is_empty() && yiwang_kernel::crypto::Sm4Key::from_hex(key).is_err() {
                bail!("{name} must be 32 hexadecimal digits (an SM4 key)");
            }
        }
        let ratings = &self.ratings;
        let link_key = ratings.link_key.expose();
        if !link_key.is_empty() && hex::decode(link_key.trim()).map_or(true, |k| k.len() < 16) {
            bail!("ratings.link_key must be at least 32 hexadecimal digits");
        }
        for (name, value, max) in [
            ("ratings.contact_days", ratings.contact_days, 5),
            ("ratings.rectify_days", ratings.rectify_days, 15),
            ("ratings.follow_up_days", ratings.follow_up_days, 180),
            ("ratings.link_days", ratings.link_days, 30),
        ] {
            if !(1..=max).contains(&value) {
                bail!("{name} must be between 1 and {max}, got {value}");
            }
        }
        if ratings.contact_days > ratings.rectify_days {
            bail!("ratings.contact_days must not exceed ratings.rectify_days");
        }
        for (scope, rule) in [
            ("login", self.limits.login),
            ("register", self.limits.register),
            ("ticket", self.limits.ticket),
            ("progress", self.limits.progress),
            ("upload_address", self.limits.upload_address),
            ("upload_account", self.limits.upload_account),
            ("verify", self.limits.verify),
            ("survey", self.limits.survey),
        ] {
            if rule.limit == 0 || !(1..=86_400).contains(&rule.window_secs) {
                bail!("limits.{scope} needs limit >= 1 and window_secs between 1 and 86400");
            }
        }
        let key = self.pii_key.expose();
        if !key.is_empty() && yiwang_kernel::crypto::Sm4Key::from_hex(key).is_err() {
            bail!("pii_key must be 32 hexadecimal digits (an SM4 key)");
        }
        let audit_key = self.audit_key.expose();
        if !audit_key.is_empty() && yiwang_db::audit::AnchorKey::from_hex(audit_key).is_err() {
            bail!("audit_key must be at least 32 hexadecimal digits");
        }
        if self
            .audit_old_keys
            .iter()
            .any(|k| yiwang_db::audit::AnchorKey::from_hex(k.expose()).is_err())
        {
            bail!("audit_old_keys must each be at least 32 hexadecimal digits");
        }
        if !(1..=3600).contains(&self.index_catch_up_secs) {
            bail!(
                "index_catch_up_secs must be between 1 and 3600, got {}",
                self.index_catch_up_secs
            );
        }
        if !(1..=1440).contains(&self.audit_anchor_minutes) {
            bail!(
                "audit_anchor_minutes must be between 1 and 1440, got {}",
                self.audit_anchor_minutes
            );
        }
        if let Some(smtp) = &self.smtp {
            if smtp.host.trim().is_empty() || smtp.from.trim().is_empty() {
                bail!("smtp.host and smtp.from are needed to send email over SMTP");
            }
            let has_password = !smtp.password.expose().is_empty();
            if smtp.username.is_some() != has_password {
                bail!("smtp.username and smtp.password go together: set both or neither");
            }
            if !(1..=600).contains(&smtp.timeout_secs) {
                bail!(
                    "smtp.timeout_secs must be between 1 and 600, got {}",
                    smtp.timeout_secs
                );
            }
            smtp.sender_config_with_ca()?.validate()?;
        }
        Ok(())
    }

    /// The connection limits of `serve` from the configured seconds.
    pub fn connection_limits(&self) -> crate::http::ConnectionLimits {
        crate::http::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs),
        }
    }

    /// The audit anchor key, when one is configured.
    pub fn audit_anchor_key(&self) -> Option<yiwang_db::audit::AnchorKey> {
        yiwang_db::audit::AnchorKey::from_hex(self.audit_key.expose()).ok()
    }

    /// Every key that may have made an anchor: the current one and those rotated out.
    pub fn audit_anchor_keys(&self) -> Vec<yiwang_db::audit::AnchorKey> {
        self.audit_anchor_key()
            .into_iter()
            .chain(
                self.audit_old_keys
                    .iter()
                    .filter_map(|k| yiwang_db::audit::AnchorKey::from_hex(k.expose()).ok()),
            )
            .collect()
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        self.database_url.as_ref().map_or_else(
            || yiwang_db::sqlite_url_in(&self.data_dir),
            |s| s.expose().to_owned(),
        )
    }

    /// The effective configuration as TOML-like text, secrets hidden.
    pub fn describe(&self) -> String {
        let url = self.database_url.as_ref().map_or_else(
            || yiwang_db::sqlite_url_in(&self.data_dir),
            |s| yiwang_db::redact_url(s.expose()),
        );
        let mut text = format!(
            "addr = \"{}\"\ndata_dir = \"{}\"\ndatabase_url = \"{}\"\nregion_code = \"{}\"\ncookie_secure = {}\nmax_body_bytes = {}\nmax_material_bytes = {}\nplatform_code = \"{}\"\nlog_format = \"{}\"\nworker = {}\npii_key = \"{}\"\nlog_message_text = {}\nheader_read_timeout_secs = {}\nidle_timeout_secs = {}\ntrusted_proxies = [{}]\nforwarded_header = \"{}\"\naudit_key = \"{}\"\naudit_old_keys = [{}]\naudit_anchor_minutes = {}\nmetrics_token = \"{}\"\nindex_catch_up_secs = {}\n",
            self.addr,
            self.data_dir.display(),
            url,
            self.region_code,
            self.cookie_secure,
            self.max_body_bytes,
            self.max_material_bytes,
            self.platform_code,
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            },
            self.worker,
            self.pii_key,
            self.log_message_text,
            self.header_read_timeout_secs,
            self.idle_timeout_secs,
            self.trusted_proxies
                .nets()
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", "),
            self.trusted_proxies.header().name(),
            self.audit_key,
            self.audit_old_keys
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", "),
            self.audit_anchor_minutes,
            self.metrics_token,
            self.index_catch_up_secs,
        );
        // A TOML table comes after the top-level keys.
        match &self.smtp {
            Some(smtp) => {
                let _ = write!(
                    text,
                    "\n[smtp]\nhost = \"{}\"\nport = {}\nfrom = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\ntimeout_secs = {}\ntls = \"{}\"\nca_file = \"{}\"\n",
                    smtp.host,
                    smtp.port,
                    smtp.from,
                    smtp.username.as_deref().unwrap_or_default(),
                    smtp.password,
                    smtp.timeout_secs,
                    smtp.effective_tls().name(),
                    smtp.ca_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                );
            }
            None => text.push_str("# [smtp] not configured: email is only logged\n"),
        }
        text
    }

    pub fn calendar_dir(&self) -> PathBuf {
        self.data_dir.join("calendar")
    }
}

fn parse_addr(text: &str, source: &str) -> anyhow::Result<SocketAddr> {
    text.trim()
        .parse()
        .with_context(|| format!("{source} must be an address like 127.0.0.1:8080, got {text:?}"))
}

fn parse_bool(text: &str, source: &str) -> anyhow::Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{source} must be true or false, got {text:?}"),
    }
}

fn parse_forwarded_header(text: &str, source: &str) -> anyhow::Result<ForwardedHeader> {
    ForwardedHeader::parse(text).with_context(|| {
        format!("{source} must be \"x-forwarded-for\" or \"forwarded\", got {text:?}")
    })
}

fn parse_smtp_tls(text: &str, source: &str) -> anyhow::Result<yiwang_notify::SmtpTls> {
    yiwang_notify::SmtpTls::parse(text).with_context(|| {
        format!(
            "{source} must be \"none\", \"opportunistic\", \"starttls\" or \"tls\", got {text:?}"
        )
    })
}

fn parse_log_format(text: &str, source: &str) -> anyhow::Result<LogFormat> {
    match text.trim() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => bail!("{source} must be \"text\" or \"json\", got {text:?}"),
    }
}

/// The working-day calendar: the built-in years plus any `*.toml` files an administrator put in
/// `<data_dir>/calendar/`.
pub fn load_calendar(dir: &Path) -> anyhow::Result<yiwang_kernel::WorkCalendar> {
    let calendar = yiwang_kernel::WorkCalendar::builtin();
    if dir.is_dir() {
        calendar
            .load_dir(dir)
            .with_context(|| format!("cannot load the calendar files in {}", dir.display()))
    } else {
        Ok(calendar)
    }
}

#[cfg(test)]
mod tests;
