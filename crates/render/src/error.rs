//! Errors of rendering, with stable codes the UI translates.

use yiwang_kernel::ErrorCode;

/// What can go wrong when a document, QR code or seal is drawn. Every variant but
/// [`RenderError::Font`] is bad input (the caller answers 422 naming `field`); `Font` is internal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A required text is empty or blank.
    #[error("{field} must not be empty")]
    Empty { field: String },
    /// A text is longer than its bound (in characters), or the whole document is.
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    /// A list has more entries than its bound.
    #[error("{field} has more than {max} entries")]
    TooMany { field: String, max: usize },
    /// A text holds a control or invisible formatting character (line breaks are allowed only
    /// in field values and paragraphs).
    #[error("{field} contains a control character")]
    ControlCharacter { field: String },
    /// The expiry date is before the date of issue.
    #[error("the expiry date is before the date of issue")]
    ExpiresBeforeIssued,
    /// The QR payload is empty or longer than [`crate::MAX_QR_PAYLOAD_BYTES`] bytes.
    #[error("the QR payload must have 1 to {max} bytes")]
    QrPayload { max: usize },
    /// The document would need more than [`crate::MAX_PAGES`] pages.
    #[error("the document would need more than {max} pages")]
    TooManyPages { max: usize },
    /// The embedded font could not be read or subset (a defect, never the caller's input).
    #[error("the embedded font could not be used: {0}")]
    Font(String),
}

impl RenderError {
    /// The part of the input at fault, for a 422 that names it (`title`, `fields[3].value`,
    /// `qr`, `expires`, `document`); `None` for the internal error.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::TooMany { field, .. }
            | Self::ControlCharacter { field } => Some(field),
            Self::ExpiresBeforeIssued => Some("expires"),
            Self::QrPayload { .. } => Some("qr"),
            Self::TooManyPages { .. } => Some("document"),
            Self::Font(_) => None,
        }
    }
}

impl ErrorCode for RenderError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty { .. } => "render_empty",
            Self::TooLong { .. } => "render_too_long",
            Self::TooMany { .. } => "render_too_many",
            Self::ControlCharacter { .. } => "render_control_character",
            Self::ExpiresBeforeIssued => "render_expires_before_issued",
            Self::QrPayload { .. } => "render_qr_payload",
            Self::TooManyPages { .. } => "render_too_many_pages",
            Self::Font(_) => "render_font",
        }
    }
}
