//! Decides at build time whether the PostgreSQL variants of `db_test!` run or are marked ignored, so a
//! run without PostgreSQL says so in `cargo test`'s own output ("ignored, PostgreSQL variant skipped").
//! Under CI nothing is ignored: a missing PostgreSQL makes those tests fail.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=YIWANG_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(yiwang_pg_skipped)");
    let configured =
        std::env::var("YIWANG_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    let ci = std::env::var_os("CI").is_some();
    if !configured && !ci {
        println!("cargo::rustc-cfg=yiwang_pg_skipped");
    }
}
