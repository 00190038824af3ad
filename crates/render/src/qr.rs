//! QR codes (ISO/IEC 18004, error correction level M) as compact SVG for pages and as module
//! matrices for the PDF.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use crate::error::RenderError;

/// Longest QR payload, in bytes. 512 bytes at level M is version 17 at most (85 modules), which
/// still prints at 0.35 mm per module in the PDF's 30 mm code; an identifier, a key id and a
/// base64 SM2 signature take about 250.
pub const MAX_QR_PAYLOAD_BYTES: usize = 512;

/// Light modules around the symbol, as ISO/IEC 18004 requires.
pub const QUIET_ZONE: usize = 4;

/// The dark/light modules of a symbol, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// Row-major, `true` for dark.
    pub dark: Vec<bool>,
}

impl QrMatrix {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Horizontal runs of dark modules as (row, first column, length).
    pub(crate) fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((y, start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

pub(crate) fn check_payload(payload: &str) -> Result<(), RenderError> {
    if payload.is_empty() || payload.len() > MAX_QR_PAYLOAD_BYTES {
        return Err(RenderError::QrPayload {
            max: MAX_QR_PAYLOAD_BYTES,
        });
    }
    Ok(())
}

/// Encodes `payload` (UTF-8 bytes, byte mode) at error correction level M in the smallest
/// version that holds it.
pub fn qr_matrix(payload: &str) -> Result<QrMatrix, RenderError> {
    check_payload(payload)?;
    let code =
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|_| {
            RenderError::QrPayload {
                max: MAX_QR_PAYLOAD_BYTES,
            }
        })?;
    Ok(QrMatrix {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    })
}

/// A QR code as SVG: a white square with the quiet zone and one `<path>` of the dark modules (one
/// unit per module), `role="img"` and a `<title>` (`title`, escaped) for assistive technology.
/// Scale it with CSS; `shape-rendering="crispEdges"` keeps module edges sharp.
pub fn qr_svg(payload: &str, title: &str) -> Result<String, RenderError> {
    let matrix = qr_matrix(payload)?;
    let size = matrix.width + 2 * QUIET_ZONE;
    let mut d = String::with_capacity(matrix.width * matrix.width);
    for (y, x, len) in matrix.runs() {
        let _ = write!(d, "M{} {}h{len}v1h-{len}z", x + QUIET_ZONE, y + QUIET_ZONE);
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s}" role="img" "#,
            r#"shape-rendering="crispEdges"><title>{t}</title>"#,
            r##"<rect width="{s}" height="{s}" fill="#fff"/><path fill="#000" d="{d}"/></svg>"##
        ),
        s = size,
        t = escape_xml(title),
        d = d,
    ))
}

/// Escapes text for XML content and attribute values.
pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_bounds() {
        assert_eq!(
            qr_svg("", "t"),
            Err(RenderError::QrPayload {
                max: MAX_QR_PAYLOAD_BYTES
            })
        );
        assert!(qr_svg(&"a".repeat(MAX_QR_PAYLOAD_BYTES), "t").is_ok());
        assert_eq!(
            qr_svg(&"a".repeat(MAX_QR_PAYLOAD_BYTES + 1), "t"),
            Err(RenderError::QrPayload {
                max: MAX_QR_PAYLOAD_BYTES
            })
        );
        // Bytes, not characters: 171 CJK characters are 513 bytes.
        assert!(qr_svg(&"证".repeat(171), "t").is_err());
    }

    #[test]
    fn svg_shape() {
        let svg = qr_svg("https://yiwang.example/v/1", "扫码核验 <&>").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 33 33\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>扫码核验 &lt;&amp;&gt;</title>"));
        assert_eq!(svg.matches("<path").count(), 1);
        // Version 2 (25 modules) plus 4 quiet modules on each side; the finder pattern's top
        // row starts at the quiet zone.
        assert!(svg.contains("d=\"M4 4h7v1h-7z"));
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = qr_matrix("1.2.156.3005.2.11100000MB0000000X.0001.1.K").unwrap();
        let mut covered = vec![false; m.width * m.width];
        for (y, x, len) in m.runs() {
            for i in x..x + len {
                assert!(!covered[y * m.width + i]);
                covered[y * m.width + i] = true;
            }
        }
        assert_eq!(covered, m.dark);
    }
}
