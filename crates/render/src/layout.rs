//! Page composition: turns a [`Document`] into A4 pages of drawing operations (points, y up,
//! origin at the bottom left), flowing the title, holder lines, fields and paragraphs and
//! starting a new page when one is full; the closing block (issuer, date, seal, QR code,
//! footnotes) goes on the last page.

use crate::error::RenderError;
use crate::font::Font;
use crate::model::{Document, DocumentKind, Field, chinese_date};
use crate::qr::{QUIET_ZONE, QrMatrix, qr_matrix};
use crate::seal::{SEAL_DIAMETER_MM, SEAL_RED};
use crate::wrap::wrap;

/// A4 width in points.
pub const PAGE_WIDTH: f32 = 595.276;
/// A4 height in points.
pub const PAGE_HEIGHT: f32 = 841.89;
/// At most this many pages; a document that needs more is refused.
pub const MAX_PAGES: usize = 20;

pub(crate) const MM: f32 = 72.0 / 25.4;

const LEFT: f32 = 28.0 * MM;
const RIGHT: f32 = PAGE_WIDTH - 26.0 * MM;
const TOP: f32 = PAGE_HEIGHT - 30.0 * MM;
/// Lowest baseline of flowing text (above the page number).
const BOTTOM: f32 = 26.0 * MM;
const PAGE_NUMBER_Y: f32 = 17.0 * MM;

const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
const GREY: Rgb = Rgb(0.35, 0.35, 0.35);
const FRAME: Rgb = Rgb(0.60, 0.16, 0.12);
const RED: Rgb = Rgb(
    SEAL_RED.0 as f32 / 255.0,
    SEAL_RED.1 as f32 / 255.0,
    SEAL_RED.2 as f32 / 255.0,
);

/// An sRGB colour, components 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub f32, pub f32, pub f32);

/// One drawing operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Text with its baseline starting at (x, y); `spacing` is extra space after each character;
    /// `bold` strokes the outlines too (the font has one weight).
    Text {
        x: f32,
        y: f32,
        size: f32,
        color: Rgb,
        spacing: f32,
        bold: bool,
        text: String,
    },
    /// A stroked rectangle.
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
        color: Rgb,
    },
    /// A filled rectangle (rules).
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// The seal of `department` centred at (cx, cy), `diameter` points across.
    Seal {
        cx: f32,
        cy: f32,
        diameter: f32,
        department: String,
    },
    /// A QR code whose lower-left corner (quiet zone included) is at (x, y), `size` points wide.
    Qr {
        x: f32,
        y: f32,
        size: f32,
        matrix: QrMatrix,
    },
}

/// The laid-out document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub pages: Vec<Vec<Op>>,
}

struct Flow<'a> {
    font: &'a Font,
    pages: Vec<Vec<Op>>,
    /// Top edge of the next line.
    y: f32,
    /// Whether text is set bold (titles).
    bold: bool,
}

impl Flow<'_> {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) -> Result<(), RenderError> {
        if self.pages.len() >= MAX_PAGES {
            return Err(RenderError::TooManyPages { max: MAX_PAGES });
        }
        self.pages.push(Vec::new());
        self.y = TOP;
        Ok(())
    }

    /// Makes room for a line `height` tall, starting a page when this one is full; returns the
    /// baseline for text of `size` in it.
    fn line(&mut self, height: f32, size: f32) -> Result<f32, RenderError> {
        if self.y - height < BOTTOM {
            self.new_page()?;
        }
        let baseline = self.y - f32::midpoint(height, size * 0.76);
        self.y -= height;
        Ok(baseline)
    }

    fn text(&mut self, x: f32, y: f32, size: f32, color: Rgb, spacing: f32, text: &str) {
        if !text.is_empty() {
            let bold = self.bold;
            self.page().push(Op::Text {
                x,
                y,
                size,
                color,
                spacing,
                bold,
                text: text.to_owned(),
            });
        }
    }

    /// A line of text centred on the page, shrunk (down to `min`) to fit one line, and
    /// wrapped when it still does not.
    fn centred(
        &mut self,
        text: &str,
        size: f32,
        min: f32,
        spacing_em: f32,
        color: Rgb,
        lead: f32,
    ) -> Result<(), RenderError> {
        let width = RIGHT - LEFT;
        let n = text.chars().count() as f32;
        let natural = |s: f32| self.font.width(text, s) + spacing_em * s * (n - 1.0).max(0.0);
        let mut s = size;
        while natural(s) > width && s > min {
            s = (s - 0.5).max(min);
        }
        let spacing = if natural(s) <= width {
            spacing_em * s
        } else {
            0.0
        };
        for line in wrap(self.font, text, s, width, 0.0) {
            let count = line.text.chars().count() as f32;
            let w = line.width + spacing * (count - 1.0).max(0.0);
            let baseline = self.line(s * lead, s)?;
            self.text(
                (PAGE_WIDTH - w) / 2.0,
                baseline,
                s,
                color,
                spacing,
                &line.text,
            );
        }
        Ok(())
    }

    /// Paragraph text wrapped between `x` and `RIGHT`, broken lines justified.
    fn paragraph(
        &mut self,
        text: &str,
        x: f32,
        size: f32,
        indent: f32,
        lead: f32,
        color: Rgb,
    ) -> Result<(), RenderError> {
        let width = RIGHT - x;
        for line in wrap(self.font, text, size, width, indent) {
            let baseline = self.line(size * lead, size)?;
            let start = if line.first { x + indent } else { x };
            let spacing = justify(&line.text, line.width, RIGHT - start, line.broken, size);
            self.text(start, baseline, size, color, spacing, &line.text);
        }
        Ok(())
    }

    /// The fields as a two-column table: labels spread across the label column (分散对齐),
    /// values wrapped in the value column.
    fn fields(
        &mut self,
        fields: &[Field],
        size: f32,
        lead: f32,
        gap: f32,
    ) -> Result<(), RenderError> {
        let font = self.font;
        let widest = fields
            .iter()
            .map(|f| font.width(&f.label, size))
            .fold(0.0_f32, f32::max);
        let label_width = widest.clamp(4.0 * size, 8.0 * size);
        let value_x = LEFT + label_width + 1.5 * size;
        for field in fields {
            let labels = wrap(font, &field.label, size, label_width, 0.0);
            let values = wrap(font, &field.value, size, RIGHT - value_x, 0.0);
            // Keep a row's first two lines together.
            if self.y - 2.0 * size * lead < BOTTOM && values.len() > 1 {
                self.new_page()?;
            }
            let rows = labels.len().max(values.len());
            for i in 0..rows {
                let baseline = self.line(size * lead, size)?;
                if let Some(label) = labels.get(i) {
                    let spacing = if labels.len() == 1 {
                        distribute(&label.text, label.width, label_width)
                    } else {
                        0.0
                    };
                    self.text(LEFT, baseline, size, GREY, spacing, &label.text);
                }
                if let Some(value) = values.get(i) {
                    let spacing = justify(
                        &value.text,
                        value.width,
                        RIGHT - value_x,
                        value.broken,
                        size,
                    );
                    self.text(value_x, baseline, size, BLACK, spacing, &value.text);
                }
            }
            self.y -= gap;
        }
        Ok(())
    }
}

/// Extra space per character that makes a broken line fill `width` (none for a paragraph's last
/// line or when the gap is too large to spread gracefully).
fn justify(text: &str, natural: f32, width: f32, broken: bool, size: f32) -> f32 {
    let n = text.chars().count();
    if !broken || n < 2 || natural >= width {
        return 0.0;
    }
    let spacing = (width - natural) / (n - 1) as f32;
    if spacing > 0.25 * size { 0.0 } else { spacing }
}

/// Extra space per character that spreads a label across `width` (分散对齐).
fn distribute(text: &str, natural: f32, width: f32) -> f32 {
    let n = text.chars().count();
    if n < 2 || natural >= width {
        0.0
    } else {
        (width - natural) / (n - 1) as f32
    }
}

/// Geometry of the closing block.
struct Closing {
    /// Height of the issuer/date/seal block.
    sign_height: f32,
    /// QR code (side, points) and its matrix.
    qr: Option<(f32, QrMatrix)>,
    /// Footnote lines (the seal's key line first) and the height they take.
    notes: Vec<String>,
    notes_height: f32,
}

const NOTE_SIZE: f32 = 7.5;
const NOTE_LEAD: f32 = 1.55;
const SIGN_SIZE: f32 = 13.0;
const QR_CAPTION: &str = "扫码核验";
/// Printed on a page that carries only a notice's issuer, date and seal.
const NO_TEXT_ON_PAGE: &str = "（此页无正文）";

fn closing(doc: &Document, font: &Font) -> Result<Closing, RenderError> {
    let mut notes = Vec::new();
    if let Some(seal) = &doc.seal {
        notes.push(format!(
            "电子印章：{}　签章密钥：{}　签名指纹：{}",
            seal.department, seal.key_id, seal.fingerprint
        ));
    }
    notes.extend(doc.footnotes.iter().cloned());
    let width = RIGHT - LEFT;
    let lines: usize = notes
        .iter()
        .map(|n| wrap(font, n, NOTE_SIZE, width, 0.0).len())
        .sum();
    let notes_height = lines as f32 * NOTE_SIZE * NOTE_LEAD;
    let qr = match &doc.qr {
        Some(payload) => {
            let matrix = qr_matrix(payload)?;
            let modules = (matrix.width + 2 * QUIET_ZONE) as f32;
            // At least 0.38 mm per module, 28 to 40 mm across.
            let side = (modules * 0.38 * MM).clamp(28.0 * MM, 40.0 * MM);
            Some((side, matrix))
        }
        None => None,
    };
    let seal_height = if doc.seal.is_some() {
        SEAL_DIAMETER_MM * MM
    } else {
        0.0
    };
    let sign_height = (SIGN_SIZE * 4.2).max(seal_height);
    Ok(Closing {
        sign_height,
        qr,
        notes,
        notes_height,
    })
}

/// Lays out `doc` (already validated).
pub(crate) fn layout(doc: &Document, font: &Font) -> Result<Layout, RenderError> {
    let mut flow = Flow {
        font,
        pages: vec![Vec::new()],
        y: TOP,
        bold: false,
    };
    let licence = doc.kind == DocumentKind::Licence;
    let mut fields = doc.fields.clone();
    if let Some(expires) = doc.expires {
        fields.push(Field::new(
            "有效期限",
            format!("{}至{}", chinese_date(doc.issued), chinese_date(expires)),
        ));
    }
    if licence {
        let n = doc.title.chars().count();
        let spacing = if n <= 8 { 0.6 } else { 0.1 };
        flow.y -= 4.0 * MM;
        flow.bold = true;
        flow.centred(&doc.title, 28.0, 16.0, spacing, BLACK, 1.5)?;
        flow.bold = false;
        if let Some(number) = &doc.number {
            flow.centred(
                &format!("{}：{}", number.label, number.value),
                10.0,
                7.0,
                0.0,
                GREY,
                1.6,
            )?;
        }
        flow.y -= 8.0 * MM;
        for line in &doc.holder {
            flow.paragraph(line, LEFT, 12.0, 0.0, 1.7, BLACK)?;
        }
        if !doc.holder.is_empty() {
            flow.y -= 3.0 * MM;
        }
        flow.fields(&fields, 12.0, 1.65, 2.2 * MM)?;
        if !doc.paragraphs.is_empty() {
            flow.y -= 3.0 * MM;
        }
        for p in &doc.paragraphs {
            flow.paragraph(p, LEFT, 12.0, 24.0, 1.75, BLACK)?;
        }
    } else {
        // GB/T 9704: the issuing organ in red, the number, a red rule, then the title.
        flow.bold = true;
        flow.centred(&doc.issuer, 24.0, 14.0, 0.15, RED, 1.5)?;
        flow.bold = false;
        if let Some(number) = &doc.number {
            flow.y -= 2.0 * MM;
            flow.centred(&number.value, 12.0, 8.0, 0.0, BLACK, 1.6)?;
        }
        flow.y -= 2.0 * MM;
        let rule = Op::Fill {
            x: LEFT,
            y: flow.y,
            w: RIGHT - LEFT,
            h: 1.6,
            color: RED,
        };
        flow.page().push(rule);
        flow.y -= 9.0 * MM;
        flow.bold = true;
        flow.centred(&doc.title, 20.0, 14.0, 0.0, BLACK, 1.6)?;
        flow.bold = false;
        flow.y -= 5.0 * MM;
        for line in &doc.holder {
            flow.paragraph(line, LEFT, 13.0, 0.0, 1.75, BLACK)?;
        }
        for p in &doc.paragraphs {
            flow.paragraph(p, LEFT, 13.0, 26.0, 1.75, BLACK)?;
        }
        if !fields.is_empty() {
            flow.y -= 2.0 * MM;
            flow.fields(&fields, 12.0, 1.65, 1.5 * MM)?;
        }
    }

    let close = closing(doc, font)?;
    let notes_top = BOTTOM - 4.0 * MM + close.notes_height;
    let qr_block = close.qr.as_ref().map_or(0.0, |(side, _)| side + 11.0);
    // Licence: issuer, date, seal and QR share one band just above the notes.
    // Notice: issuer, date and seal follow the text; the QR sits at the bottom left.
    let needed = if licence {
        notes_top + 6.0 * MM + close.sign_height.max(qr_block)
    } else {
        let sign_bottom = notes_top + 6.0 * MM;
        (sign_bottom + close.sign_height + 10.0 * MM).max(notes_top + qr_block + 4.0 * MM)
    };
    if flow.y < needed {
        flow.new_page()?;
        if flow.y < needed {
            // Cannot happen within the model's bounds (6 footnotes of 200 characters take a
            // third of a page), but never overlap: refuse instead.
            return Err(RenderError::TooLong {
                field: "footnotes".to_owned(),
                max: crate::model::MAX_FOOTNOTE_CHARS,
            });
        }
        if !licence {
            // A notice's signature never stands alone on a page without saying so.
            flow.paragraph(NO_TEXT_ON_PAGE, LEFT, 13.0, 26.0, 1.75, BLACK)?;
        }
    }
    let sign_top = if licence {
        notes_top + 6.0 * MM + close.sign_height.max(qr_block)
    } else {
        flow.y - 10.0 * MM
    };
    let last = flow.page();
    sign_block(last, doc, font, sign_top, close.sign_height);
    if let Some((side, matrix)) = close.qr {
        let x = LEFT - 2.0 * MM;
        let y = notes_top + 4.0 * MM + 11.0;
        last.push(Op::Qr {
            x,
            y,
            size: side,
            matrix,
        });
        let caption_width = font.width(QR_CAPTION, 8.0);
        last.push(Op::Text {
            x: x + (side - caption_width) / 2.0,
            y: y - 6.0,
            size: 8.0,
            color: GREY,
            spacing: 0.0,
            bold: false,
            text: QR_CAPTION.to_owned(),
        });
    }
    let mut y = notes_top - NOTE_SIZE;
    for note in &close.notes {
        for line in wrap(font, note, NOTE_SIZE, RIGHT - LEFT, 0.0) {
            last.push(Op::Text {
                x: LEFT,
                y,
                size: NOTE_SIZE,
                color: GREY,
                spacing: 0.0,
                bold: false,
                text: line.text,
            });
            y -= NOTE_SIZE * NOTE_LEAD;
        }
    }
    let mut pages = flow.pages;
    let count = pages.len();
    for (i, ops) in pages.iter_mut().enumerate() {
        if licence {
            frame(ops);
        }
        if count > 1 {
            let label = format!("第{}页　共{}页", i + 1, count);
            let w = font.width(&label, 9.0);
            ops.push(Op::Text {
                x: (PAGE_WIDTH - w) / 2.0,
                y: PAGE_NUMBER_Y,
                size: 9.0,
                color: GREY,
                spacing: 0.0,
                bold: false,
                text: label,
            });
        }
    }
    Ok(Layout { pages })
}

/// Issuer and date right-aligned below `top`, the seal over both (骑年盖月).
fn sign_block(ops: &mut Vec<Op>, doc: &Document, font: &Font, top: f32, height: f32) {
    let date = chinese_date(doc.issued);
    let max_width = (RIGHT - LEFT) * 0.6;
    let mut size = SIGN_SIZE;
    while font.width(&doc.issuer, size) > max_width && size > 7.0 {
        size -= 0.5;
    }
    let issuer_width = font.width(&doc.issuer, size);
    let date_width = font.width(&date, SIGN_SIZE);
    let block_width = issuer_width
        .max(date_width)
        .max(SEAL_DIAMETER_MM * MM * 0.8);
    let right = RIGHT - 2.0 * SIGN_SIZE;
    let centre_x = right - block_width / 2.0;
    let centre_y = top - height / 2.0;
    let issuer_y = centre_y + 0.35 * SIGN_SIZE;
    let date_y = centre_y - 1.45 * SIGN_SIZE;
    ops.push(Op::Text {
        x: centre_x - issuer_width / 2.0,
        y: issuer_y,
        size,
        color: BLACK,
        spacing: 0.0,
        bold: false,
        text: doc.issuer.clone(),
    });
    ops.push(Op::Text {
        x: centre_x - date_width / 2.0,
        y: date_y,
        size: SIGN_SIZE,
        color: BLACK,
        spacing: 0.0,
        bold: false,
        text: date,
    });
    if let Some(seal) = &doc.seal {
        ops.push(Op::Seal {
            cx: centre_x,
            cy: centre_y + 0.4 * SIGN_SIZE,
            diameter: SEAL_DIAMETER_MM * MM,
            department: seal.department.clone(),
        });
    }
}

/// The certificate's double frame.
fn frame(ops: &mut Vec<Op>) {
    let outer = 12.0 * MM;
    let inner = 14.0 * MM;
    ops.insert(
        0,
        Op::Frame {
            x: outer,
            y: outer,
            w: PAGE_WIDTH - 2.0 * outer,
            h: PAGE_HEIGHT - 2.0 * outer,
            width: 2.2,
            color: FRAME,
        },
    );
    ops.insert(
        1,
        Op::Frame {
            x: inner,
            y: inner,
            w: PAGE_WIDTH - 2.0 * inner,
            h: PAGE_HEIGHT - 2.0 * inner,
            width: 0.7,
            color: FRAME,
        },
    );
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::font::font;
    use crate::model::SealBlock;

    fn licence() -> Document {
        Document {
            kind: DocumentKind::Licence,
            title: "公共场所卫生许可证".into(),
            number: Some(Field::new(
                "证照标识",
                "1.2.156.3005.2.11100000000000131.11150603MB7356085K.KBS2026001.001.X",
            )),
            holder: vec![],
            fields: vec![
                Field::new("单位名称", "鄂尔多斯市康巴什区草原印象文化传媒有限公司"),
                Field::new("法定代表人", "王丽华"),
                Field::new(
                    "地址",
                    "内蒙古自治区鄂尔多斯市康巴什区青春山街道办事处哈巴格希街北、康和路东侧康巴什商务中心二号楼三层301室至305室",
                ),
                Field::new("许可项目", "歌舞厅、游艺厅"),
            ],
            paragraphs: vec![],
            issuer: "鄂尔多斯市康巴什区卫生健康委员会".into(),
            issued: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            expires: NaiveDate::from_ymd_opt(2030, 12, 6),
            seal: Some(SealBlock {
                department: "鄂尔多斯市康巴什区卫生健康委员会".into(),
                key_id: "kbs-wjw-2026-01".into(),
                fingerprint: "0a1b2c3d4e5f6789".into(),
            }),
            qr: Some("YWL1:test".into()),
            footnotes: vec!["本证照为电子证照。".into()],
        }
    }

    fn texts(page: &[Op]) -> Vec<(f32, f32, f32, f32, &str)> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text {
                    x,
                    y,
                    size,
                    spacing,
                    text,
                    ..
                } => Some((*x, *y, *size, *spacing, text.as_str())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn licence_layout() {
        let f = font().unwrap();
        let doc = licence();
        let layout = layout(&doc, f).unwrap();
        assert_eq!(layout.pages.len(), 1);
        let page = &layout.pages[0];
        let texts = texts(page);

        // The title is centred, letter-spaced.
        let &(x, _, size, spacing, title) =
            texts.iter().find(|t| t.4 == "公共场所卫生许可证").unwrap();
        let n = title.chars().count() as f32;
        let width = f.width(title, size) + spacing * (n - 1.0);
        assert!(
            (x + width / 2.0 - PAGE_WIDTH / 2.0).abs() < 0.5,
            "{x} {width} {size} {spacing}"
        );
        assert!(spacing > 0.0);

        // Labels share one column; the long address wraps into lines starting at one x.
        let label_x: Vec<f32> = texts
            .iter()
            .filter(|t| ["单位名称", "法定代表人", "地址", "有效期限"].contains(&t.4))
            .map(|t| t.0)
            .collect();
        assert_eq!(label_x.len(), 4);
        assert!(label_x.iter().all(|&x| (x - LEFT).abs() < 0.01));
        let address: Vec<_> = texts
            .iter()
            .filter(|t| t.4.contains("康巴什商务中心") || t.4.starts_with("内蒙古自治区"))
            .collect();
        assert!(!address.is_empty());
        let value_x = address[0].0;
        let continued: Vec<_> = texts
            .iter()
            .filter(|t| {
                (t.0 - value_x).abs() < 0.01 && t.1 < address[0].1 && t.1 > address[0].1 - 60.0
            })
            .collect();
        assert!(!continued.is_empty(), "the address wraps");
        assert!(texts.iter().any(|t| t.4 == "2026年12月7日至2030年12月6日"));

        // The seal covers the issuer and the date; the QR sits in the bottom left quarter.
        let seal = page
            .iter()
            .find_map(|op| match op {
                Op::Seal {
                    cx, cy, diameter, ..
                } => Some((*cx, *cy, *diameter)),
                _ => None,
            })
            .unwrap();
        for line in ["鄂尔多斯市康巴什区卫生健康委员会", "2026年12月7日"] {
            let &(x, y, size, _, text) = texts.iter().find(|t| t.4 == line).unwrap();
            let centre = (x + f.width(text, size) / 2.0, y + 0.35 * size);
            assert!(
                (centre.0 - seal.0).hypot(centre.1 - seal.1) < seal.2 / 2.0,
                "{line} under the seal"
            );
        }
        assert!(seal.0 > PAGE_WIDTH / 2.0 && seal.1 < PAGE_HEIGHT / 3.0);
        let qr = page
            .iter()
            .find_map(|op| match op {
                Op::Qr { x, y, size, .. } => Some((*x, *y, *size)),
                _ => None,
            })
            .unwrap();
        assert!(qr.0 < PAGE_WIDTH / 4.0 && qr.1 + qr.2 < PAGE_HEIGHT / 3.0);
        assert!(
            qr.0 + qr.2 < seal.0 - seal.2 / 2.0,
            "the QR code and the seal do not overlap"
        );

        // Nothing is drawn outside the inner frame.
        for t in &texts {
            assert!(
                t.0 >= 14.0 * MM && t.0 + f.width(t.4, t.2) <= PAGE_WIDTH - 14.0 * MM,
                "{t:?}"
            );
            assert!(t.1 >= 14.0 * MM && t.1 <= PAGE_HEIGHT - 14.0 * MM, "{t:?}");
        }
    }

    #[test]
    fn notice_layout() {
        let f = font().unwrap();
        let mut doc = licence();
        doc.kind = DocumentKind::Notice;
        doc.title = "准予行政许可决定书".into();
        doc.holder = vec!["鄂尔多斯市康巴什区草原印象文化传媒有限公司：".into()];
        doc.paragraphs = vec!["你单位于2026年11月20日提出的“公共场所卫生许可（新办）”申请，本机关于2026年11月21日受理。经审查，申请符合法定条件、标准。根据《中华人民共和国行政许可法》第三十八条第一款的规定，本机关决定准予行政许可。".into()];
        let layout = layout(&doc, f).unwrap();
        let page = &layout.pages[0];
        assert!(
            !page.iter().any(|op| matches!(op, Op::Frame { .. })),
            "no certificate frame"
        );
        // The organ's name in red comes first, above a red rule.
        let first = page
            .iter()
            .find_map(|op| match op {
                Op::Text { color, y, text, .. } => Some((*color, *y, text.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            (first.0, first.2.as_str()),
            (RED, "鄂尔多斯市康巴什区卫生健康委员会")
        );
        let rule = page
            .iter()
            .find_map(|op| match op {
                Op::Fill { y, color, .. } => Some((*y, *color)),
                _ => None,
            })
            .unwrap();
        assert!(rule.0 < first.1 && rule.1 == RED);
        // The paragraph's first line is indented by two characters, the next one is not.
        let texts = texts(page);
        let body: Vec<_> = texts
            .iter()
            .filter(|t| (t.2 - 13.0).abs() < 0.01 && t.0 < PAGE_WIDTH / 2.0 && t.1 < rule.0)
            .collect();
        let first_line = body.iter().find(|t| t.4.starts_with("你单位")).unwrap();
        let next = body
            .iter()
            .find(|t| t.1 < first_line.1 && t.1 > first_line.1 - 30.0)
            .unwrap();
        assert!((first_line.0 - next.0 - 26.0).abs() < 0.01);
        // Issuer and date follow the text on the right.
        let date = texts.iter().find(|t| t.4 == "2026年12月7日").unwrap();
        assert!(date.0 > PAGE_WIDTH / 2.0 && date.1 < next.1);
    }

    #[test]
    fn overflow_makes_pages_up_to_the_bound() {
        let f = font().unwrap();
        let mut doc = licence();
        doc.fields = (0..60)
            .map(|i| Field::new(format!("项目{i}"), "内容"))
            .collect();
        let layout = layout(&doc, f).unwrap();
        assert_eq!(layout.pages.len(), 3);
        // The closing block is only on the last page.
        let seals = |page: &Vec<Op>| {
            page.iter()
                .filter(|op| matches!(op, Op::Seal { .. } | Op::Qr { .. }))
                .count()
        };
        assert_eq!(seals(&layout.pages[0]) + seals(&layout.pages[1]), 0);
        assert_eq!(seals(&layout.pages[2]), 2);
        // No text below the page-number line, except the page number.
        for page in &layout.pages {
            for t in texts(page) {
                assert!(t.1 >= PAGE_NUMBER_Y - 0.01, "{t:?}");
            }
        }
    }

    #[test]
    fn a_notice_signature_alone_on_a_page_says_so() {
        let f = font().unwrap();
        let mut doc = licence();
        doc.kind = DocumentKind::Notice;
        doc.fields.clear();
        doc.expires = None;
        // Enough paragraphs to end the first page just short of room for the signature.
        let mut pages = Vec::new();
        for n in 1..60 {
            doc.paragraphs = vec!["本机关决定准予行政许可。".into(); n];
            let layout = layout(&doc, f).unwrap();
            let last = layout.pages.last().unwrap();
            let alone = !texts(last)
                .iter()
                .any(|t| t.4 == "本机关决定准予行政许可。");
            if alone {
                assert!(
                    texts(last).iter().any(|t| t.4 == NO_TEXT_ON_PAGE),
                    "{n}: {:?}",
                    texts(last)
                );
                pages.push(n);
            } else {
                assert!(!texts(last).iter().any(|t| t.4 == NO_TEXT_ON_PAGE));
            }
        }
        assert!(
            !pages.is_empty(),
            "some length pushes the signature onto its own page"
        );
    }
}
