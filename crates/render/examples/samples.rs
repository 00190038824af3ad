//! Writes the sample documents (a licence, a notice, a two-page licence), a QR code and a seal to
//! a directory, to look at them: `cargo run -p yiwang-render --example samples -- DIR`
//! (default: a new temporary directory, kept), then e.g. `pdftoppm -png -r 80 DIR/licence.pdf`.

#[path = "../tests/render/samples.rs"]
mod samples;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => tempfile::tempdir()?.keep(),
    };
    std::fs::create_dir_all(&dir)?;
    for (name, doc) in [
        ("licence", samples::licence()),
        ("notice", samples::notice()),
        ("long", samples::long_licence()),
    ] {
        let rendered = yiwang_render::pdf_report(&doc)?;
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, &rendered.bytes)?;
        println!(
            "{}: {} bytes, {} page(s), missing {:?}",
            path.display(),
            rendered.bytes.len(),
            rendered.pages,
            rendered.missing
        );
    }
    let qr = yiwang_render::qr_svg(samples::licence().qr.as_deref().unwrap_or("x"), "扫码核验")?;
    std::fs::write(dir.join("qr.svg"), qr)?;
    let seal = yiwang_render::seal_svg("鄂尔多斯市康巴什区市场监督管理局")?;
    std::fs::write(dir.join("seal.svg"), seal)?;
    println!("{}", dir.display());
    Ok(())
}
