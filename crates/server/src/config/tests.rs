//! Unit tests of the configuration (layering, validation, secrets).

use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn layers_defaults_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("yiwang.toml");
    std::fs::write(
        &file,
        "addr = \"0.0.0.0:9000\"\nregion_code = \"150603\"\nworker = false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        config_file: Some(file),
        data_dir: Some(PathBuf::from("/srv/yiwang")),
        addr: None,
    };
    let config = Config::load(
        &overrides,
        &env_of(&[
            ("YIWANG_REGION_CODE", "340100"),
            ("YIWANG_LOG_FORMAT", "json"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(config.addr.to_string(), "0.0.0.0:9000", "from the file");
    assert_eq!(config.region_code, "340100", "env beats the file");
    assert_eq!(config.log_format, LogFormat::Json);
    assert!(!config.worker);
    assert_eq!(
        config.data_dir,
        PathBuf::from("/srv/yiwang"),
        "flag beats everything"
    );
    assert_eq!(config.database_url(), "sqlite:///srv/yiwang/yiwang.db");
}

#[test]
fn bad_values_are_refused_with_the_source_named() {
    let none = Overrides::default();
    let err = Config::load(&none, &env_of(&[("YIWANG_ADDR", "localhost")])).unwrap_err();
    assert!(format!("{err:#}").contains("YIWANG_ADDR"));
    let err = Config::load(&none, &env_of(&[("YIWANG_REGION_CODE", "12345")])).unwrap_err();
    assert!(format!("{err:#}").contains("region_code"));
    let err = Config::load(&none, &env_of(&[("YIWANG_PII_KEY", "short")])).unwrap_err();
    assert!(format!("{err:#}").contains("pii_key"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "adress = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
    let leaky = dir.path().join("leaky.toml");
    std::fs::write(
        &leaky,
        "database_url = \"postgres://u:hunter2@h/db\"\npii_key = 12\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = Config::load(
        &Overrides {
            config_file: Some(leaky),
            ..Overrides::default()
        },
        &env_of(&[]),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("line 2") && !text.contains("hunter2"),
        "{text}"
    );
    let err = Config::load(
        &Overrides {
            config_file: Some(file),
            ..Overrides::default()
        },
        &env_of(&[]),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
}

#[test]
fn connection_limits_come_from_file_and_env() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("yiwang.toml");
    std::fs::write(
        &file,
        "header_read_timeout_secs = 5\nidle_timeout_secs = 90\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        config_file: Some(file),
        ..Overrides::default()
    };
    let config = Config::load(&overrides, &env_of(&[("YIWANG_IDLE_TIMEOUT_SECS", "300")]))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        config.connection_limits(),
        crate::http::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(5),
            idle_timeout: std::time::Duration::from_mins(5),
        }
    );
    assert!(
        config
            .describe()
            .contains("header_read_timeout_secs = 5\nidle_timeout_secs = 300\n")
    );
    let defaults = Config::default().connection_limits();
    assert_eq!(defaults.header_read_timeout.as_secs(), 15);
    assert_eq!(defaults.idle_timeout.as_secs(), 120);
    for (name, value) in [
        ("YIWANG_HEADER_READ_TIMEOUT_SECS", "0"),
        ("YIWANG_HEADER_READ_TIMEOUT_SECS", "soon"),
        ("YIWANG_IDLE_TIMEOUT_SECS", "0"),
        ("YIWANG_IDLE_TIMEOUT_SECS", "86400"),
    ] {
        let err = Config::load(&Overrides::default(), &env_of(&[(name, value)])).unwrap_err();
        let text = format!("{err:#}");
        let key = name.trim_start_matches("YIWANG_").to_lowercase();
        assert!(
            text.contains(&key) || text.contains(name),
            "{name}={value}: {text}"
        );
    }
}

#[test]
fn trusted_proxies_audit_keys_and_smtp_tls_are_layered_and_checked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("yiwang.toml");
    std::fs::write(
        &file,
        "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\nforwarded_header = \"forwarded\"\naudit_key = \"00112233445566778899aabbccddeeff\"\naudit_old_keys = [\"ffeeddccbbaa99887766554433221100\"]\n[smtp]\nhost = \"smtp.example.gov.cn\"\nport = 465\nfrom = \"noreply@example.gov.cn\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        config_file: Some(file),
        ..Overrides::default()
    };
    let config = Config::load(&overrides, &env_of(&[])).unwrap_or_else(|e| panic!("{e:#}"));
    let proxies = &config.trusted_proxies;
    assert_eq!(proxies.header(), ForwardedHeader::Forwarded);
    assert!(proxies.is_trusted("10.9.8.7".parse().unwrap_or_else(|e| panic!("{e}"))));
    assert_eq!(config.audit_anchor_keys().len(), 2);
    let smtp = config.smtp.clone().unwrap_or_else(|| panic!("configured"));
    assert_eq!(
        smtp.effective_tls(),
        yiwang_notify::SmtpTls::Implicit,
        "465 is SMTPS"
    );
    let described = config.describe();
    assert!(
        described.contains("trusted_proxies = [\"127.0.0.1/32\", \"10.0.0.0/8\"]\nforwarded_header = \"forwarded\"\naudit_key = \"(secret)\"\naudit_old_keys = [\"(secret)\"]\n"),
        "{described}"
    );
    assert!(!described.contains("00112233"), "{described}");
    assert!(described.contains("tls = \"tls\""), "{described}");

    // The environment replaces the file's list and keeps its header.
    let config = Config::load(
        &overrides,
        &env_of(&[
            ("YIWANG_TRUSTED_PROXIES", "::1, 192.168.0.0/16"),
            ("YIWANG_SMTP_TLS", "starttls"),
            ("YIWANG_SMTP_PORT", "587"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(config.trusted_proxies.nets().len(), 2);
    assert_eq!(config.trusted_proxies.header(), ForwardedHeader::Forwarded);
    assert_eq!(
        config.smtp.map(|s| s.effective_tls()),
        Some(yiwang_notify::SmtpTls::StartTls)
    );

    // By default nobody is trusted and email upgrades to TLS when the relay offers it.
    let plain = Config::load(
        &Overrides::default(),
        &env_of(&[
            ("YIWANG_SMTP_HOST", "relay.internal"),
            ("YIWANG_SMTP_FROM", "noreply@example.gov.cn"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(plain.trusted_proxies.nets().is_empty());
    assert!(plain.audit_anchor_keys().is_empty());
    assert_eq!(
        plain.smtp.map(|s| s.effective_tls()),
        Some(yiwang_notify::SmtpTls::Opportunistic)
    );

    for (name, value, named) in [
        ("YIWANG_TRUSTED_PROXIES", "nginx", "YIWANG_TRUSTED_PROXIES"),
        (
            "YIWANG_TRUSTED_PROXIES",
            "10.0.0.0/40",
            "YIWANG_TRUSTED_PROXIES",
        ),
        (
            "YIWANG_FORWARDED_HEADER",
            "x-real-ip",
            "YIWANG_FORWARDED_HEADER",
        ),
        ("YIWANG_AUDIT_KEY", "abcd", "audit_key"),
        (
            "YIWANG_AUDIT_OLD_KEYS",
            "00112233445566778899aabbccddeeff,zz",
            "audit_old_keys",
        ),
        ("YIWANG_AUDIT_ANCHOR_MINUTES", "0", "audit_anchor_minutes"),
    ] {
        let err = Config::load(&Overrides::default(), &env_of(&[(name, value)])).unwrap_err();
        assert!(
            format!("{err:#}").contains(named),
            "{name}={value}: {err:#}"
        );
    }
    // A password never crosses the network in the clear.
    let err = Config::load(
        &Overrides::default(),
        &env_of(&[
            ("YIWANG_SMTP_HOST", "relay.example.gov.cn"),
            ("YIWANG_SMTP_FROM", "noreply@example.gov.cn"),
            ("YIWANG_SMTP_USERNAME", "yiwang"),
            ("YIWANG_SMTP_PASSWORD", "hunter2"),
            ("YIWANG_SMTP_TLS", "none"),
        ]),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("smtp.tls") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn secrets_never_print() {
    let config = Config::load(
        &Overrides::default(),
        &env_of(&[
            ("YIWANG_DATABASE_URL", "postgres://yiwang:hunter2@db/yiwang"),
            ("YIWANG_PII_KEY", "0123456789abcdeffedcba9876543210"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    for text in [config.describe(), format!("{config:?}")] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
    assert!(
        config
            .describe()
            .contains("postgres://yiwang:***@db/yiwang")
    );
    assert_eq!(config.database_url(), "postgres://yiwang:hunter2@db/yiwang");
}

#[test]
fn smtp_is_layered_validated_and_its_password_hidden() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("yiwang.toml");
    std::fs::write(
        &file,
        "region_code = \"150603\"\n[smtp]\nhost = \"relay.internal\"\nfrom = \"noreply@zwfw.example.gov.cn\"\nusername = \"yiwang\"\npassword = \"hunter3\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        config_file: Some(file),
        ..Overrides::default()
    };
    let config = Config::load(
        &overrides,
        &env_of(&[
            ("YIWANG_SMTP_PORT", "2525"),
            ("YIWANG_SMTP_PASSWORD", "s3cret-from-env"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let smtp = config.smtp.clone().unwrap_or_else(|| panic!("configured"));
    assert_eq!(smtp.host, "relay.internal", "from the file");
    assert_eq!(smtp.port, 2525, "env beats the default");
    assert_eq!(
        smtp.password.expose(),
        "s3cret-from-env",
        "env beats the file"
    );
    assert_eq!(smtp.timeout_secs, 30);
    let sender = smtp.sender_config();
    assert_eq!(sender.timeout, std::time::Duration::from_secs(30));
    assert_eq!(sender.from_name, "一网通办");
    assert_eq!(
        sender.credentials.map(|c| c.username),
        Some("yiwang".to_owned())
    );
    for text in [config.describe(), format!("{config:?}")] {
        assert!(!text.contains("hunter3"), "{text}");
        assert!(!text.contains("s3cret-from-env"), "{text}");
    }
    let described = config.describe();
    assert!(
        described.contains("[smtp]\nhost = \"relay.internal\"\nport = 2525\n"),
        "{described}"
    );
    assert!(described.contains("password = \"(secret)\""), "{described}");

    // Without any SMTP setting, email stays on the log sender.
    let plain =
        Config::load(&Overrides::default(), &env_of(&[])).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(plain.smtp.is_none());
    assert!(plain.describe().contains("[smtp] not configured"));

    // Environment variables alone configure it too.
    let from_env = Config::load(
        &Overrides::default(),
        &env_of(&[
            ("YIWANG_SMTP_HOST", "127.0.0.1"),
            ("YIWANG_SMTP_FROM", "noreply@example.gov.cn"),
            ("YIWANG_SMTP_TIMEOUT_SECS", "5"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let smtp = from_env.smtp.unwrap_or_else(|| panic!("configured"));
    assert_eq!((smtp.port, smtp.timeout_secs), (25, 5));
    assert!(smtp.username.is_none());

    for (env, named) in [
        (&[("YIWANG_SMTP_HOST", "127.0.0.1")][..], "smtp.from"),
        (
            &[
                ("YIWANG_SMTP_HOST", "127.0.0.1"),
                ("YIWANG_SMTP_FROM", "noreply"),
            ][..],
            "smtp.from",
        ),
        (&[("YIWANG_SMTP_PORT", "smtp")][..], "YIWANG_SMTP_PORT"),
        (
            &[
                ("YIWANG_SMTP_HOST", "127.0.0.1"),
                ("YIWANG_SMTP_FROM", "noreply@example.gov.cn"),
                ("YIWANG_SMTP_USERNAME", "yiwang"),
            ][..],
            "smtp.password",
        ),
        (
            &[
                ("YIWANG_SMTP_HOST", "127.0.0.1"),
                ("YIWANG_SMTP_FROM", "noreply@example.gov.cn"),
                ("YIWANG_SMTP_TIMEOUT_SECS", "0"),
            ][..],
            "smtp.timeout_secs",
        ),
    ] {
        let err = Config::load(&Overrides::default(), &env_of(env)).unwrap_err();
        assert!(format!("{err:#}").contains(named), "{env:?}: {err:#}");
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[smtp]\nhost = \"x\"\nsender = \"y\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = Config::load(
        &Overrides {
            config_file: Some(bad),
            ..Overrides::default()
        },
        &env_of(&[]),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
}

#[test]
fn ratings_come_from_file_and_env_and_are_checked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("yiwang.toml");
    std::fs::write(
        &file,
        "[ratings]\nrectify_days = 10\nfollow_up_days = 30\nlink_days = 3\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        config_file: Some(file),
        data_dir: Some(dir.path().to_path_buf()),
        addr: None,
    };
    let key = "00112233445566778899aabbccddeeff";
    let config = Config::load(
        &overrides,
        &env_of(&[
            ("YIWANG_RATINGS_LINK_KEY", key),
            ("YIWANG_RATINGS_RECTIFY_DAYS", "7"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(config.ratings.rectify_days, 7, "the environment wins");
    assert_eq!(config.ratings.follow_up_days, 30);
    assert_eq!(config.ratings.link_days, 3);
    assert_eq!(config.ratings.contact_days, 1);
    assert_eq!(config.ratings.link_key.expose(), key);
    assert!(!format!("{config:?}").contains(key), "the key never prints");
    assert_eq!(
        crate::rating_link_key(&config).unwrap_or_else(|e| panic!("{e:#}")),
        hex::decode(key).unwrap_or_else(|e| panic!("{e}"))
    );
    // Without a key: derived from the PII key, the same on every call (every node).
    let derived = Config::load(
        &overrides,
        &env_of(&[("YIWANG_PII_KEY", "ffeeddccbbaa99887766554433221100")]),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let first = crate::rating_link_key(&derived).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(first.len(), 32);
    assert_eq!(
        first,
        crate::rating_link_key(&derived).unwrap_or_else(|e| panic!("{e:#}"))
    );
    for (name, value) in [
        ("YIWANG_RATINGS_RECTIFY_DAYS", "0"),
        ("YIWANG_RATINGS_RECTIFY_DAYS", "16"),
        ("YIWANG_RATINGS_RECTIFY_DAYS", "five"),
        ("YIWANG_RATINGS_LINK_KEY", "short"),
        (
            "YIWANG_RATINGS_LINK_KEY",
            "zz112233445566778899aabbccddeeff",
        ),
    ] {
        let err = Config::load(&Overrides::default(), &env_of(&[(name, value)])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("ratings") || text.contains("RATINGS"),
            "{name}={value}: {text}"
        );
    }
}
