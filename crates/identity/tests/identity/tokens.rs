//! API tokens: create with scopes and expiry, list, revoke, authenticate.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, audit, db_test, stmt};
use yiwang_identity::model::{AuthSession, ClientMeta, RawRegistration, Registration};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::service::tokens::{ApiTokens, NewToken, RawNewToken, Scope};
use yiwang_identity::{Accounts, IdentityError, SessionPolicy};
use yiwang_kernel::{SharedClock, TestClock};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};

const PASSWORD: &str = "Yiwang#2026";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "10.9.8.7".into(),
        user_agent: "test-agent".into(),
    }
}

struct Fixture {
    tokens: ApiTokens,
    accounts: Accounts,
    clock: TestClock,
    rng: StdRng,
    a: AuthSession,
    b: AuthSession,
}

async fn fixture(t: &TestDb) -> Fixture {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii,
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut sessions = Vec::new();
    for (name, rid, mobile) in [("张三", RID_A, MOBILE_A), ("李四", RID_B, MOBILE_B)] {
        let reg = Registration::parse(&RawRegistration {
            name: name.into(),
            resident_id: rid.into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
        })
        .unwrap();
        accounts
            .register_person(&reg, &meta(), &mut rng)
            .await
            .unwrap();
        sessions.push(
            accounts
                .login(mobile, PASSWORD, &meta(), &mut rng)
                .await
                .unwrap()
                .session,
        );
    }
    let b = sessions.pop().unwrap();
    let a = sessions.pop().unwrap();
    Fixture {
        tokens: ApiTokens::new(t.db.clone(), shared),
        accounts,
        clock,
        rng,
        a,
        b,
    }
}

fn request(name: &str, scopes: &[&str], days: Option<i64>) -> NewToken {
    NewToken::parse(&RawNewToken {
        name: name.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires_in_days: days,
    })
    .unwrap()
}

#[test]
fn token_requests_are_parsed() {
    let ok = request(
        "  备份 脚本 ",
        &["sessions:read", "profile:read", "profile:read"],
        Some(30),
    );
    assert_eq!(ok.name, "备份 脚本");
    assert_eq!(ok.scopes, [Scope::ProfileRead, Scope::SessionsRead]);
    let problem = |raw: RawNewToken| match NewToken::parse(&raw) {
        Err(IdentityError::Invalid { field, code, .. }) => (field, code),
        other => panic!("{other:?}"),
    };
    let base = RawNewToken {
        name: "cli".into(),
        scopes: vec!["profile:read".into()],
        expires_in_days: None,
    };
    assert_eq!(
        problem(RawNewToken {
            name: " ".into(),
            ..base.clone()
        }),
        ("name", "token_name_invalid")
    );
    assert_eq!(
        problem(RawNewToken {
            name: "x".repeat(61),
            ..base.clone()
        }),
        ("name", "token_name_invalid")
    );
    assert_eq!(
        problem(RawNewToken {
            scopes: vec!["admin:all".into()],
            ..base.clone()
        }),
        ("scopes", "token_scope_unknown")
    );
    assert_eq!(
        problem(RawNewToken {
            scopes: vec![],
            ..base.clone()
        }),
        ("scopes", "token_scopes_empty")
    );
    for days in [0, 366, -1] {
        assert_eq!(
            problem(RawNewToken {
                expires_in_days: Some(days),
                ..base.clone()
            }),
            ("expires_in_days", "token_expiry_invalid")
        );
    }
}

async fn create_list_authenticate_revoke(t: &TestDb) {
    let mut f = fixture(t).await;
    let created = f
        .tokens
        .create(
            &f.a,
            &request("数据同步", &["profile:read"], Some(30)),
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    assert!(created.secret.starts_with("ywt_") && created.secret.len() == 68);
    assert!(!format!("{created:?}").contains(&created.secret));
    assert_eq!(
        created.info.expires_at,
        Some(Utc.with_ymd_and_hms(2026, 4, 1, 1, 0, 0).unwrap())
    );
    // Only the hash is stored.
    let stored: String =
        t.db.conn()
            .query_one_raw(stmt(t.db.conn(), "SELECT token_hash FROM api_tokens", []))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "token_hash")
            .unwrap();
    assert_ne!(stored, created.secret);
    assert!(!stored.contains(&created.secret[4..]));

    let auth = f.tokens.authenticate(&created.secret).await.unwrap();
    assert_eq!(auth.token_id, created.info.id);
    assert!(auth.allows(Scope::ProfileRead) && !auth.allows(Scope::SessionsRead));
    let yiwang_identity::model::Account::Person(a_id) = f.a.account else {
        panic!("a person")
    };
    assert_eq!(auth.person, a_id);

    f.clock.advance(Duration::hours(1));
    f.tokens.authenticate(&created.secret).await.unwrap();
    let listed = f.tokens.list(&f.a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "数据同步");
    assert_eq!(
        listed[0].last_used_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap())
    );
    assert!(
        f.tokens.list(&f.b).await.unwrap().is_empty(),
        "B sees none of A's"
    );

    // B cannot revoke A's token.
    let steal = f.tokens.revoke(&f.b, &created.info.id, &meta()).await;
    assert!(matches!(
        steal,
        Err(IdentityError::Invalid {
            code: "token_not_found",
            ..
        })
    ));
    f.tokens.authenticate(&created.secret).await.unwrap();
    f.tokens
        .revoke(&f.a, &created.info.id, &meta())
        .await
        .unwrap();
    assert!(matches!(
        f.tokens.authenticate(&created.secret).await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(
        f.tokens
            .revoke(&f.a, &created.info.id, &meta())
            .await
            .is_err(),
        "already revoked"
    );
    assert!(f.tokens.list(&f.a).await.unwrap()[0].revoked_at.is_some());

    let actions: Vec<String> =
        audit::for_resource(t.db.conn(), &format!("token:{}", created.info.id), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    assert_eq!(actions, ["token.revoke", "token.create"]);

    for forged in [
        "",
        "ywt_",
        &format!("ywt_{}", "0".repeat(64)),
        "f".repeat(64).as_str(),
    ] {
        assert!(matches!(
            f.tokens.authenticate(forged).await,
            Err(IdentityError::Unauthenticated)
        ));
    }
}
db_test!(create_list_authenticate_revoke);

async fn tokens_expire_and_are_limited(t: &TestDb) {
    let mut f = fixture(t).await;
    let short = f
        .tokens
        .create(
            &f.a,
            &request("短期", &["sessions:read"], Some(1)),
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    let lasting = f
        .tokens
        .create(
            &f.a,
            &request("长期", &["sessions:read"], None),
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    f.clock.advance(Duration::days(1));
    assert!(matches!(
        f.tokens.authenticate(&short.secret).await,
        Err(IdentityError::Unauthenticated)
    ));
    f.tokens.authenticate(&lasting.secret).await.unwrap();

    // 1 expired + 1 live; 19 more reach the limit of 20 live tokens.
    for i in 0..19 {
        f.tokens
            .create(
                &f.a,
                &request(&format!("t{i}"), &["profile:read"], None),
                &meta(),
                &mut f.rng,
            )
            .await
            .unwrap();
    }
    let over = f
        .tokens
        .create(
            &f.a,
            &request("one too many", &["profile:read"], None),
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(matches!(
        over,
        Err(IdentityError::Invalid {
            code: "token_limit_reached",
            ..
        })
    ));
    assert_eq!(f.tokens.list(&f.a).await.unwrap().len(), 21);
}
db_test!(tokens_expire_and_are_limited);

/// A password change ends the person's API tokens: whoever knew the old password may have made them.
async fn password_change_revokes_tokens(t: &TestDb) {
    let mut f = fixture(t).await;
    let created = f
        .tokens
        .create(
            &f.a,
            &request("同步", &["profile:read"], None),
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    let other = f
        .tokens
        .create(
            &f.b,
            &request("同步", &["profile:read"], None),
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    f.tokens.authenticate(&created.secret).await.unwrap();
    f.accounts
        .change_password(&f.a, PASSWORD, "Better#2027", &meta(), &mut f.rng)
        .await
        .unwrap();
    assert!(
        f.tokens.authenticate(&created.secret).await.is_err(),
        "revoked with the password change"
    );
    f.tokens
        .authenticate(&other.secret)
        .await
        .expect("another person's token is untouched");
}
db_test!(password_change_revokes_tokens);
