//! The stand-in for a scanned material.

use std::fmt::Write as _;

/// A small, valid one-page PDF standing for a scanned material; the material's name is its title.
pub fn demo_pdf(title: &str) -> Vec<u8> {
    let title_hex: String = std::iter::once(0xFEFF_u16)
        .chain(title.encode_utf16())
        .fold(String::new(), |mut s, u| {
            let _ = write!(s, "{u:04X}");
            s
        });
    let content = "BT /F1 16 Tf 72 760 Td (Yiwang demo material) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        format!("<< /Title <{title_hex}> /Producer (Yiwang demo) >>"),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn the_demo_pdf_is_well_formed() {
        let pdf = demo_pdf("营业执照");
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let text = String::from_utf8(pdf).unwrap_or_default();
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        assert!(text[start..].starts_with("xref"));
        // "营" is U+8425.
        assert!(text.contains("/Title <FEFF8425"));
    }
}
