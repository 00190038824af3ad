//! Decides at build time whether the tests that read PDFs back with poppler-utils (`pdftotext`,
//! `pdffonts`, `pdfinfo`: an independent parser and text extractor) run or are marked ignored, so
//! a run without them says so in `cargo test`'s own output. Under CI nothing is ignored: missing
//! tools make those tests fail (`.ci/run` installs poppler-utils).

const POPPLER: [&str; 3] = [
    "/usr/bin/pdftotext",
    "/usr/bin/pdffonts",
    "/usr/bin/pdfinfo",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    // The directory, not the files: a path that does not exist would rerun this script on every build.
    println!("cargo::rerun-if-changed=/usr/bin");
    println!("cargo::rustc-check-cfg=cfg(yiwang_no_poppler)");
    let present = POPPLER
        .iter()
        .all(|path| std::path::Path::new(path).exists());
    if !present && std::env::var_os("CI").is_none() {
        println!("cargo::rustc-cfg=yiwang_no_poppler");
    }
}
