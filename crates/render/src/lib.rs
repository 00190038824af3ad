//! Yiwang documents: e-licences (电子证照) and decision notices as A4 PDF, QR codes and the round
//! red seal as SVG. Pure functions over plain data — no database, no web framework.
//!
//! - [`model`]: the [`Document`] (title, number, holder lines, labelled fields, paragraphs,
//!   issuer and dates, an optional [`SealBlock`] and QR payload, footnotes) and its bounds.
//! - [`pdf()`] / [`pdf_report`]: the PDF, Chinese text extractable (`ToUnicode`), the CJK font
//!   embedded as a subset of the glyphs used, the seal and the QR code as vector paths, long
//!   values wrapped, further pages when the content overflows.
//! - [`qr_svg`]: a QR code (level M) as one SVG `<path>`; [`qr_matrix`] its modules.
//! - [`seal_svg`]: the seal of a department as one SVG `<path>`.
//! - [`missing_characters`]: what the embedded font (GB 2312 and more, see `fonts/README.md`)
//!   cannot draw; such characters print as [`REPLACEMENT`].
//!
//! Errors are [`RenderError`] with stable codes (`render_…`) and the part of the input at fault.

mod error;
mod font;
mod layout;
pub mod model;
mod path;
mod pdf;
mod qr;
mod seal;
mod wrap;

pub use error::RenderError;
pub use font::{REPLACEMENT, has_glyph, missing_characters};
pub use layout::{MAX_PAGES, PAGE_HEIGHT, PAGE_WIDTH};
pub use model::{Document, DocumentKind, Field, SealBlock, chinese_date};
pub use pdf::{Rendered, pdf, pdf_report};
pub use qr::{MAX_QR_PAYLOAD_BYTES, QUIET_ZONE, QrMatrix, qr_matrix, qr_svg};
pub use seal::{SEAL_DIAMETER_MM, SEAL_RED, seal_svg};
