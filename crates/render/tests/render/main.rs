//! Checks the documents with independent readers: QR codes are decoded by `rqrr` from the SVG we
//! write (parsed back into modules), PDFs are parsed by poppler-utils (`pdfinfo`, `pdffonts`,
//! `pdftotext`) — never by our own code.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod samples;

use std::path::Path;
use std::process::Command;

use yiwang_kernel::ErrorCode as _;
use yiwang_render::{
    Document, Field, MAX_PAGES, MAX_QR_PAYLOAD_BYTES, QUIET_ZONE, RenderError, pdf, pdf_report,
    qr_svg, seal_svg,
};

/// Reads the modules back out of our SVG (`M{x} {y}h{n}v1h-{n}z` runs, one unit per module) and
/// rasterises them, 4 pixels per module, for the decoder.
fn decode_svg(svg: &str) -> String {
    let view = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    let size: usize = view.parse().unwrap();
    let data = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; size * size];
    for run in data.split('M').filter(|r| !r.is_empty()) {
        // "{x} {y}h{n}v1h-{n}z"
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let n: usize = rest.split('v').next().unwrap().parse().unwrap();
        assert_eq!(rest, format!("{n}v1h-{n}z"), "run {run}");
        for i in x..x + n {
            dark[y * size + i] = true;
        }
    }
    // The quiet zone is light.
    for y in 0..size {
        for x in 0..size {
            if x < QUIET_ZONE || y < QUIET_ZONE || x >= size - QUIET_ZONE || y >= size - QUIET_ZONE
            {
                assert!(!dark[y * size + x], "module ({x}, {y}) in the quiet zone");
            }
        }
    }
    let scale = 4;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(size * scale, size * scale, |x, y| {
            if dark[(y / scale) * size + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one symbol");
    let (meta, content) = grids[0].decode().unwrap();
    assert_eq!(
        meta.ecc_level, 0,
        "error correction level M (rqrr numbers M as 0)"
    );
    content
}

#[test]
fn qr_svg_decodes_back_with_an_independent_decoder() {
    for payload in [
        "https://yiwang.example.gov.cn/verify/1.2.156.3005.2.11100000000000127.11340100MB8434305B.JY23401040012345.001.L",
        "YWL1:1.2.156.3005.2.11100000000000127.11340100MB8434305B.JY23401040012345.001.L:hf-scjgj-2026-01:3045022100e6dd89",
        "证照核验：合肥味道餐饮管理有限公司",
        &"9".repeat(MAX_QR_PAYLOAD_BYTES),
    ] {
        let svg = qr_svg(payload, "扫码核验").unwrap();
        assert_eq!(decode_svg(&svg), payload);
    }
}

#[test]
fn qr_payload_beyond_the_bound_is_an_error() {
    let err = qr_svg(&"a".repeat(MAX_QR_PAYLOAD_BYTES + 1), "t").unwrap_err();
    assert_eq!(err.code(), "render_qr_payload");
    assert_eq!(err.field(), Some("qr"));
    let mut doc = samples::licence();
    doc.qr = Some("b".repeat(MAX_QR_PAYLOAD_BYTES + 1));
    assert_eq!(pdf(&doc).unwrap_err().code(), "render_qr_payload");
}

#[test]
fn seal_svg_is_vector_only() {
    let svg = seal_svg("合肥市市场监督管理局").unwrap();
    assert!(svg.contains("role=\"img\"") && svg.contains("<title>合肥市市场监督管理局</title>"));
    assert!(!svg.contains("<text") && !svg.contains("<image") && !svg.contains("href"));
    assert_eq!(svg.matches("<path").count(), 1);
}

// ---------------------------------------------------------------------------------------------
// PDFs read back by poppler-utils.

fn run(tool: &str, args: &[&str], file: &Path) -> String {
    let output = Command::new(format!("/usr/bin/{tool}"))
        .args(args)
        .arg(file)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{tool} complained: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A value of `pdfinfo`'s output (`Key:   value`).
fn info_value<'a>(info: &'a str, key: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in {info}"))
        .trim()
}

fn pages(info: &str) -> usize {
    info_value(info, "Pages").parse().unwrap()
}

/// Text without the spaces and line breaks an extractor puts between laid-out runs.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg_attr(
    yiwang_no_poppler,
    ignore = "PDF reader test skipped: /usr/bin/pdftotext, pdffonts or pdfinfo is missing (Debian package poppler-utils)"
)]
#[test]
fn licence_pdf_has_extractable_chinese_and_an_embedded_subset_font() {
    let dir = tempfile::tempdir().unwrap();
    let doc = samples::licence();
    let rendered = pdf_report(&doc).unwrap();
    assert!(rendered.bytes.starts_with(b"%PDF-"));
    assert_eq!(rendered.pages, 1);
    assert!(rendered.missing.is_empty());
    let file = write_pdf(dir.path(), "licence.pdf", &rendered.bytes);

    let info = run("pdfinfo", &[], &file);
    assert_eq!(pages(&info), 1);
    assert_eq!(info_value(&info, "Title"), "食品经营许可证", "{info}");
    assert_eq!(
        info_value(&info, "Page size"),
        "595.276 x 841.89 pts (A4)",
        "{info}"
    );

    // pdffonts: name, type, encoding, emb, sub, uni. One font, a CID TrueType with Identity-H,
    // embedded, subset (tagged name) and with a ToUnicode map.
    let fonts = run("pdffonts", &[], &file);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "{fonts}");
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    assert!(
        cols[0].len() == 6 + 1 + "WenQuanYiMicroHei".len()
            && cols[0].ends_with("+WenQuanYiMicroHei"),
        "{fonts}"
    );
    assert_eq!(
        &cols[1..],
        [
            "CID",
            "TrueType",
            "Identity-H",
            "yes",
            "yes",
            "yes",
            "4",
            "0"
        ],
        "{fonts}"
    );

    // The embedded font program (FontFile2, its uncompressed size in /Length1) is a small subset
    // of the 1,350,148-byte font, and the whole file is far below the font's size.
    let raw = String::from_utf8_lossy(&rendered.bytes);
    assert_eq!(raw.matches("/FontFile2").count(), 1);
    let length1: usize = raw
        .split("/Length1 ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1_000..60_000).contains(&length1),
        "font subset of {length1} bytes"
    );
    assert!(
        rendered.bytes.len() < 100_000,
        "{} bytes",
        rendered.bytes.len()
    );

    let text = squeeze(&run("pdftotext", &["-layout", "-enc", "UTF-8"], &file));
    for expected in [
        "食品经营许可证",
        "合肥味道餐饮管理有限公司",
        "91340104MA2TX00016",
        "1.2.156.3005.2.11100000000000127.11340100MB8434305B.JY23401040012345.001.L",
        "热食类食品制售",
        "2026年12月7日至2031年12月6日",
        "合肥市市场监督管理局",
        "签章密钥：hf-scjgj-2026-01",
        "扫码核验",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
}

#[cfg_attr(
    yiwang_no_poppler,
    ignore = "PDF reader test skipped: /usr/bin/pdftotext, pdffonts or pdfinfo is missing (Debian package poppler-utils)"
)]
#[test]
fn notice_pdf_reads_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pdf(&samples::notice()).unwrap();
    let file = write_pdf(dir.path(), "notice.pdf", &bytes);
    assert_eq!(pages(&run("pdfinfo", &[], &file)), 1);
    let text = squeeze(&run("pdftotext", &["-enc", "UTF-8"], &file));
    let order = [
        "鄂尔多斯市康巴什区市场监督管理局",
        "康市监许准字〔2026〕第0128号",
        "准予行政许可决定书",
        "鄂尔多斯市康巴什区草原印象文化传媒有限公司",
        "本机关决定准予行政许可。",
        "公共场所卫生许可（文化娱乐场所：歌舞厅、游艺厅）",
        "2026年12月7日",
    ];
    let mut at = 0;
    for part in order {
        let found = text[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} not after byte {at} of {text}"));
        at += found + part.len();
    }
}

#[cfg_attr(
    yiwang_no_poppler,
    ignore = "PDF reader test skipped: /usr/bin/pdftotext, pdffonts or pdfinfo is missing (Debian package poppler-utils)"
)]
#[test]
fn forty_fields_spill_onto_a_second_page() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = pdf_report(&samples::long_licence()).unwrap();
    assert_eq!(rendered.pages, 2);
    let file = write_pdf(dir.path(), "long.pdf", &rendered.bytes);
    assert_eq!(pages(&run("pdfinfo", &[], &file)), 2);
    let first = squeeze(&run(
        "pdftotext",
        &["-f", "1", "-l", "1", "-enc", "UTF-8"],
        &file,
    ));
    let second = squeeze(&run(
        "pdftotext",
        &["-f", "2", "-l", "2", "-enc", "UTF-8"],
        &file,
    ));
    assert!(
        first.contains("诊疗科目1") && first.contains("第1页共2页"),
        "{first}"
    );
    assert!(
        second.contains("诊疗科目40") && second.contains("第2页共2页"),
        "{second}"
    );
    // Every field is printed exactly once, and the closing block is on the last page.
    for i in 1..=40 {
        let label = format!("第{i}项：");
        assert_eq!(
            first.matches(&label).count() + second.matches(&label).count(),
            1,
            "{label}"
        );
    }
    assert!(!first.contains("签章密钥") && second.contains("签章密钥"));
    // One font object shared by both pages.
    assert_eq!(run("pdffonts", &[], &file).lines().count(), 3);
}

#[cfg_attr(
    yiwang_no_poppler,
    ignore = "PDF reader test skipped: /usr/bin/pdftotext, pdffonts or pdfinfo is missing (Debian package poppler-utils)"
)]
#[test]
fn missing_characters_print_as_a_square_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = samples::licence();
    doc.fields[2].value = "张𠀾明".into(); // U+2003E is outside the font
    let rendered = pdf_report(&doc).unwrap();
    assert_eq!(rendered.missing, vec!['𠀾']);
    let file = write_pdf(dir.path(), "missing.pdf", &rendered.bytes);
    let text = squeeze(&run("pdftotext", &["-enc", "UTF-8"], &file));
    assert!(text.contains("张□明"), "{text}");
}

#[test]
fn the_output_is_deterministic_and_the_subset_follows_the_text() {
    let a = pdf(&samples::licence()).unwrap();
    assert_eq!(a, pdf(&samples::licence()).unwrap());
    let mut doc = samples::licence();
    doc.fields[0].value = "合肥老味道餐饮管理有限公司".into();
    assert_ne!(a, pdf(&doc).unwrap());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    type Change = Box<dyn Fn(&mut Document)>;
    let cases: Vec<(Change, &str, Option<&str>)> = vec![
        (Box::new(|d| d.title.clear()), "render_empty", Some("title")),
        (
            Box::new(|d| d.issuer = "  ".into()),
            "render_empty",
            Some("issuer"),
        ),
        (
            Box::new(|d| d.fields[3].label = "住\u{0}所".into()),
            "render_control_character",
            Some("fields[3].label"),
        ),
        (
            Box::new(|d| d.fields[3].value = "路".repeat(2_001)),
            "render_too_long",
            Some("fields[3].value"),
        ),
        (
            Box::new(|d| d.fields = vec![Field::new("项", "值"); 201]),
            "render_too_many",
            Some("fields"),
        ),
        (
            Box::new(|d| d.expires = Some(samples::date(2020, 1, 1))),
            "render_expires_before_issued",
            Some("expires"),
        ),
        (
            Box::new(|d| d.qr = Some(String::new())),
            "render_qr_payload",
            Some("qr"),
        ),
        (
            Box::new(|d| {
                if let Some(seal) = &mut d.seal {
                    seal.department = "局".repeat(41);
                }
            }),
            "render_too_long",
            Some("seal.department"),
        ),
        (
            Box::new(|d| d.footnotes = vec!["注".into(); 7]),
            "render_too_many",
            Some("footnotes"),
        ),
    ];
    for (change, code, field) in cases {
        let mut doc = samples::licence();
        change(&mut doc);
        let err = pdf(&doc).unwrap_err();
        assert_eq!((err.code(), err.field()), (code, field), "{err}");
    }
    // A document within every bound that needs too many pages is refused, not truncated.
    let mut doc = samples::licence();
    doc.fields = (0..200)
        .map(|i| Field::new(format!("项目{i}"), "甲乙丙丁".repeat(30)))
        .collect();
    assert_eq!(
        pdf(&doc).unwrap_err(),
        RenderError::TooManyPages { max: MAX_PAGES }
    );
}

// ---------------------------------------------------------------------------------------------
// Any document within the bounds renders without a panic.

fn text(max: usize, newlines: bool) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let mut pool = vec![
        '营', '业', '执', '照', '康', '巴', '什', '区', '（', '）', '，', '。', '《', '》', '—',
        '…', '、', 'A', 'b', 'Z', '1', '0', ' ', ' ', '-', '.', 'é', '\u{0301}', '𠀾', '😀',
        '\u{3000}',
    ];
    if newlines {
        pool.push('\n');
    }
    proptest::collection::vec(proptest::sample::select(pool), 0..=max).prop_map(String::from_iter)
}

fn nonblank(max: usize) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    text(max, false).prop_map(|t| format!("证{t}"))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    #[test]
    fn any_document_within_the_bounds_renders(
        notice in proptest::prelude::any::<bool>(),
        title in nonblank(39),
        holder in proptest::collection::vec(nonblank(150), 0..3),
        fields in proptest::collection::vec((nonblank(15), text(300, true)), 0..30),
        paragraphs in proptest::collection::vec(nonblank(600), 0..4),
        issuer in nonblank(39),
        sealed in proptest::prelude::any::<bool>(),
        qr in proptest::option::of(nonblank(100)),
        footnotes in proptest::collection::vec(nonblank(199), 0..6),
    ) {
        let doc = Document {
            kind: if notice { yiwang_render::DocumentKind::Notice } else { yiwang_render::DocumentKind::Licence },
            title,
            number: Some(Field::new("文号", "康市监许准字〔2026〕第0128号")),
            holder,
            fields: fields.into_iter().map(|(l, v)| Field::new(l, v)).collect(),
            paragraphs,
            issuer: issuer.clone(),
            issued: samples::date(2026, 12, 7),
            expires: Some(samples::date(2027, 12, 6)),
            seal: sealed.then(|| yiwang_render::SealBlock {
                department: issuer,
                key_id: "k-1".into(),
                fingerprint: "00ff".into(),
            }),
            qr,
            footnotes,
        };
        let rendered = pdf_report(&doc).unwrap();
        proptest::prop_assert!(rendered.bytes.starts_with(b"%PDF-"));
        proptest::prop_assert!((1..=MAX_PAGES).contains(&rendered.pages));
        // Every character reported missing is one the font lacks, and none is reported twice.
        for c in &rendered.missing {
            proptest::prop_assert!(!yiwang_render::has_glyph(*c));
        }
        let unique: std::collections::BTreeSet<char> = rendered.missing.iter().copied().collect();
        proptest::prop_assert_eq!(unique.len(), rendered.missing.len());
    }
}
