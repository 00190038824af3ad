//! Decides at build time whether the browser tests run or are marked ignored, so a run without
//! Chromium says so in `cargo test`'s own output ("ignored, browser test skipped: …"). Under CI nothing
//! is ignored: a missing browser makes those tests fail.

const BROWSER: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    // The directory, not the files: a path that does not exist would rerun this script on every build.
    println!("cargo::rerun-if-changed=/usr/bin");
    println!("cargo::rustc-check-cfg=cfg(yiwang_no_browser)");
    let present = BROWSER
        .iter()
        .all(|path| std::path::Path::new(path).exists());
    if !present && std::env::var_os("CI").is_none() {
        println!("cargo::rustc-cfg=yiwang_no_browser");
    }
}
