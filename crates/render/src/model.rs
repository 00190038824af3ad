//! The document model: plain data that describes an e-licence (电子证照) or a decision notice
//! (受理通知书, 准予行政许可决定书 …) well enough to draw it, and the bounds every part must keep.
//!
//! The renderer prints what it is given; the wording comes from the caller (the licence and case
//! domains). Dates are printed in the official Chinese form (`2026年12月7日`, GB/T 9704), because
//! these are Chinese official documents whatever the reader's language.

use chrono::NaiveDate;

use crate::error::RenderError;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 40;
/// Longest document number or licence identifier (value), in characters.
pub const MAX_NUMBER_CHARS: usize = 120;
/// Longest label (of a field or of the number), in characters.
pub const MAX_LABEL_CHARS: usize = 16;
/// At most this many holder lines.
pub const MAX_HOLDER_LINES: usize = 8;
/// Longest holder line, in characters.
pub const MAX_HOLDER_CHARS: usize = 200;
/// At most this many labelled fields.
pub const MAX_FIELDS: usize = 200;
/// Longest field value, in characters (line breaks allowed).
pub const MAX_VALUE_CHARS: usize = 2_000;
/// At most this many body paragraphs.
pub const MAX_PARAGRAPHS: usize = 100;
/// Longest body paragraph, in characters.
pub const MAX_PARAGRAPH_CHARS: usize = 5_000;
/// Longest issuer (department) name, in characters; also the bound of a seal's department name.
pub const MAX_DEPARTMENT_CHARS: usize = 40;
/// Longest seal key id and signature fingerprint, in characters.
pub const MAX_SEAL_ID_CHARS: usize = 64;
/// At most this many footnote lines.
pub const MAX_FOOTNOTES: usize = 6;
/// Longest footnote line, in characters.
pub const MAX_FOOTNOTE_CHARS: usize = 200;
/// At most this many characters in the whole document (every text above added up).
pub const MAX_TOTAL_CHARS: usize = 40_000;

/// What kind of document this is; it decides the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentKind {
    /// A certificate (电子证照): framed page, centred spaced title, the fields as a two-column table
    /// with distributed labels, issuer, date and seal at the foot of the last page.
    #[default]
    Licence,
    /// An official letter (文书, GB/T 9704 style): the issuing department in red above a red rule,
    /// the number, the title, the addressee (holder lines), indented paragraphs, then issuer, date
    /// and seal right after the text.
    Notice,
}

/// A label and its value, e.g. `名称` / `鄂尔多斯市康巴什区味道餐饮有限公司`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Short label (at most [`MAX_LABEL_CHARS`] characters, no line breaks).
    pub label: String,
    /// The value; long values wrap, `\n` starts a new line (at most [`MAX_VALUE_CHARS`]).
    pub value: String,
}

impl Field {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// The electronic seal that signs the document: drawn as a red round seal over the issuer and
/// date, with the key id and a short fingerprint of the signature printed small below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealBlock {
    /// The department whose seal it is; its name runs along the seal's upper arc.
    pub department: String,
    /// The id of the signing key (as published with the public key).
    pub key_id: String,
    /// A short fingerprint of the signature (e.g. the first 16 hex digits of SM3 over it).
    pub fingerprint: String,
}

/// One document to render.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    pub kind: DocumentKind,
    /// The title, e.g. `食品经营许可证` or `准予行政许可决定书` (required).
    pub title: String,
    /// The document number or licence identifier with its label, e.g. `证照标识` /
    /// `1.2.156.3005.2.…` or `文号` / `康审批许准字〔2026〕第12号`.
    pub number: Option<Field>,
    /// Who the document is for: for a licence the holder (`持证主体：…`), for a notice the
    /// addressee line (`张三（公民身份号码：1506…）：`).
    pub holder: Vec<String>,
    /// Labelled fields: the licence's data, or the facts a notice lists.
    pub fields: Vec<Field>,
    /// Body paragraphs (notices), each indented by two characters.
    pub paragraphs: Vec<String>,
    /// The issuing department as printed above the date (required).
    pub issuer: String,
    /// The date of issue, printed under the issuer.
    pub issued: NaiveDate,
    /// The expiry date; when present a `有效期限` row ends the fields.
    pub expires: Option<NaiveDate>,
    /// The seal, when the document is sealed.
    pub seal: Option<SealBlock>,
    /// The verification payload encoded in a QR code at the bottom left of the last page
    /// (at most [`crate::MAX_QR_PAYLOAD_BYTES`] bytes).
    pub qr: Option<String>,
    /// Small print at the foot of the last page.
    pub footnotes: Vec<String>,
}

/// Checks one piece of text: not empty when `required`, at most `max` characters, no control
/// characters other than `\n` where `multiline` allows it.
fn check_text(
    field: &str,
    text: &str,
    max: usize,
    required: bool,
    multiline: bool,
) -> Result<usize, RenderError> {
    if required && text.trim().is_empty() {
        return Err(RenderError::Empty {
            field: field.to_owned(),
        });
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(RenderError::TooLong {
            field: field.to_owned(),
            max,
        });
    }
    if text
        .chars()
        .any(|c| (c.is_control() && !(multiline && c == '\n')) || is_format_char(c))
    {
        return Err(RenderError::ControlCharacter {
            field: field.to_owned(),
        });
    }
    Ok(chars)
}

/// Invisible formatting characters that could make printed text differ from what is read
/// (bidirectional overrides and isolates, zero-width characters, the byte-order mark).
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn check_count(field: &str, count: usize, max: usize) -> Result<(), RenderError> {
    if count > max {
        return Err(RenderError::TooMany {
            field: field.to_owned(),
            max,
        });
    }
    Ok(())
}

impl Document {
    /// Checks every bound; the first problem is returned with the path of the part at fault
    /// (`title`, `fields[3].value`, `seal.department` …).
    pub fn validate(&self) -> Result<(), RenderError> {
        let mut total = check_text("title", &self.title, MAX_TITLE_CHARS, true, false)?;
        if let Some(number) = &self.number {
            total += check_text("number.label", &number.label, MAX_LABEL_CHARS, true, false)?;
            total += check_text("number.value", &number.value, MAX_NUMBER_CHARS, true, false)?;
        }
        check_count("holder", self.holder.len(), MAX_HOLDER_LINES)?;
        for (i, line) in self.holder.iter().enumerate() {
            total += check_text(&format!("holder[{i}]"), line, MAX_HOLDER_CHARS, true, false)?;
        }
        check_count("fields", self.fields.len(), MAX_FIELDS)?;
        for (i, field) in self.fields.iter().enumerate() {
            total += check_text(
                &format!("fields[{i}].label"),
                &field.label,
                MAX_LABEL_CHARS,
                true,
                false,
            )?;
            total += check_text(
                &format!("fields[{i}].value"),
                &field.value,
                MAX_VALUE_CHARS,
                false,
                true,
            )?;
        }
        check_count("paragraphs", self.paragraphs.len(), MAX_PARAGRAPHS)?;
        for (i, paragraph) in self.paragraphs.iter().enumerate() {
            total += check_text(
                &format!("paragraphs[{i}]"),
                paragraph,
                MAX_PARAGRAPH_CHARS,
                true,
                true,
            )?;
        }
        total += check_text("issuer", &self.issuer, MAX_DEPARTMENT_CHARS, true, false)?;
        if let Some(expires) = self.expires
            && expires < self.issued
        {
            return Err(RenderError::ExpiresBeforeIssued);
        }
        if let Some(seal) = &self.seal {
            total += check_text(
                "seal.department",
                &seal.department,
                MAX_DEPARTMENT_CHARS,
                true,
                false,
            )?;
            total += check_text("seal.key_id", &seal.key_id, MAX_SEAL_ID_CHARS, true, false)?;
            total += check_text(
                "seal.fingerprint",
                &seal.fingerprint,
                MAX_SEAL_ID_CHARS,
                true,
                false,
            )?;
        }
        if let Some(payload) = &self.qr {
            crate::qr::check_payload(payload)?;
        }
        check_count("footnotes", self.footnotes.len(), MAX_FOOTNOTES)?;
        for (i, line) in self.footnotes.iter().enumerate() {
            total += check_text(
                &format!("footnotes[{i}]"),
                line,
                MAX_FOOTNOTE_CHARS,
                true,
                false,
            )?;
        }
        if total > MAX_TOTAL_CHARS {
            return Err(RenderError::TooLong {
                field: "document".to_owned(),
                max: MAX_TOTAL_CHARS,
            });
        }
        Ok(())
    }
}

/// A date in the official form: `2026年12月7日`.
pub fn chinese_date(date: NaiveDate) -> String {
    use chrono::Datelike as _;
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document {
            title: "营业执照".into(),
            issuer: "鄂尔多斯市康巴什区市场监督管理局".into(),
            issued: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            ..Document::default()
        }
    }

    #[test]
    fn a_minimal_document_is_valid() {
        assert_eq!(doc().validate(), Ok(()));
    }

    #[test]
    fn bounds_name_the_part_at_fault() {
        let mut d = doc();
        d.title = " ".into();
        assert_eq!(
            d.validate(),
            Err(RenderError::Empty {
                field: "title".into()
            })
        );

        let mut d = doc();
        d.fields = vec![
            Field::new("名称", "甲"),
            Field::new("住所", "x".repeat(MAX_VALUE_CHARS + 1)),
        ];
        assert_eq!(
            d.validate(),
            Err(RenderError::TooLong {
                field: "fields[1].value".into(),
                max: MAX_VALUE_CHARS
            })
        );

        let mut d = doc();
        d.holder = vec!["张三\u{202E}".into()];
        assert_eq!(
            d.validate(),
            Err(RenderError::ControlCharacter {
                field: "holder[0]".into()
            })
        );

        let mut d = doc();
        d.fields = vec![Field::new("经营范围", "热食类食品制售\n冷食类食品制售")];
        assert_eq!(d.validate(), Ok(()), "line breaks are allowed in values");
        d.title = "营业\n执照".into();
        assert_eq!(
            d.validate(),
            Err(RenderError::ControlCharacter {
                field: "title".into()
            })
        );

        let mut d = doc();
        d.fields = (0..=MAX_FIELDS)
            .map(|i| Field::new("项目", i.to_string()))
            .collect();
        assert_eq!(
            d.validate(),
            Err(RenderError::TooMany {
                field: "fields".into(),
                max: MAX_FIELDS
            })
        );

        let mut d = doc();
        d.expires = NaiveDate::from_ymd_opt(2026, 12, 6);
        assert_eq!(d.validate(), Err(RenderError::ExpiresBeforeIssued));

        let mut d = doc();
        d.paragraphs = vec!["字".repeat(MAX_PARAGRAPH_CHARS); 9];
        assert_eq!(
            d.validate(),
            Err(RenderError::TooLong {
                field: "document".into(),
                max: MAX_TOTAL_CHARS
            })
        );
    }

    #[test]
    fn dates_are_printed_the_official_way() {
        assert_eq!(
            chinese_date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            "2026年1月5日"
        );
    }
}
