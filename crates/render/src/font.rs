//! The embedded CJK font (a GB 2312 subset of WenQuanYi Micro Hei, see `fonts/README.md`):
//! character lookup, advances for layout, and glyph outlines for the seal.

use std::sync::LazyLock;

use ttf_parser::{Face, GlyphId, OutlineBuilder};

use crate::error::RenderError;
use crate::path::{Path, Seg};

/// The font file, embedded in the binary.
pub(crate) static FONT_DATA: &[u8] = include_bytes!("../fonts/wqy-microhei-gb2312.ttf");

/// The PostScript name written into the PDF (after the subset tag).
pub(crate) const POSTSCRIPT_NAME: &str = "WenQuanYiMicroHei";

/// What a character the font lacks is drawn as (white square, in GB 2312).
pub const REPLACEMENT: char = '□';

static FONT: LazyLock<Result<Font, String>> = LazyLock::new(|| {
    let face = Face::parse(FONT_DATA, 0).map_err(|e| e.to_string())?;
    let replacement = face
        .glyph_index(REPLACEMENT)
        .ok_or_else(|| "the font has no replacement glyph".to_owned())?;
    Ok(Font { face, replacement })
});

/// The parsed font.
pub(crate) struct Font {
    face: Face<'static>,
    replacement: GlyphId,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("glyphs", &self.face.number_of_glyphs())
            .finish_non_exhaustive()
    }
}

/// The embedded font, parsed once.
pub(crate) fn font() -> Result<&'static Font, RenderError> {
    FONT.as_ref().map_err(|e| RenderError::Font(e.clone()))
}

/// Whether the embedded font has a glyph for `c`.
pub fn has_glyph(c: char) -> bool {
    font().is_ok_and(|f| f.face.glyph_index(c).is_some())
}

/// The characters of `text` the embedded font cannot draw (each once, in order of appearance);
/// line breaks are not counted.
pub fn missing_characters(text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for c in text.chars() {
        if c != '\n' && !has_glyph(c) && !missing.contains(&c) {
            missing.push(c);
        }
    }
    missing
}

impl Font {
    /// The glyph for `c`, and whether it is the replacement for a character the font lacks.
    pub(crate) fn glyph(&self, c: char) -> (GlyphId, bool) {
        match self.face.glyph_index(c) {
            Some(g) => (g, false),
            None => (self.replacement, true),
        }
    }

    pub(crate) fn units_per_em(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    /// Advance of a glyph in font units.
    pub(crate) fn advance_units(&self, g: GlyphId) -> u16 {
        self.face.glyph_hor_advance(g).unwrap_or(0)
    }

    /// Advance of the glyph drawn for `c`, in ems.
    pub(crate) fn advance(&self, c: char) -> f32 {
        f32::from(self.advance_units(self.glyph(c).0)) / self.units_per_em()
    }

    /// Width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    pub(crate) fn ascender(&self) -> i16 {
        self.face.ascender()
    }

    pub(crate) fn descender(&self) -> i16 {
        self.face.descender()
    }

    pub(crate) fn cap_height(&self) -> i16 {
        self.face.capital_height().unwrap_or(self.face.ascender())
    }

    /// The font's bounding box in font units: (x min, y min, x max, y max).
    pub(crate) fn bbox(&self) -> (i16, i16, i16, i16) {
        let b = self.face.global_bounding_box();
        (b.x_min, b.y_min, b.x_max, b.y_max)
    }

    /// The outline of a glyph in font units (y up) and its bounding box, `None` for an empty
    /// glyph (a space).
    pub(crate) fn outline(&self, g: GlyphId) -> Option<(Path, (f32, f32, f32, f32))> {
        let mut builder = Builder(Path::default());
        let rect = self.face.outline_glyph(g, &mut builder)?;
        Some((
            builder.0,
            (
                f32::from(rect.x_min),
                f32::from(rect.y_min),
                f32::from(rect.x_max),
                f32::from(rect.y_max),
            ),
        ))
    }
}

struct Builder(Path);

impl OutlineBuilder for Builder {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.segs.push(Seg::Move(x, y));
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.0.segs.push(Seg::Line(x, y));
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.segs.push(Seg::Quad(x1, y1, x, y));
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.segs.push(Seg::Cubic(x1, y1, x2, y2, x, y));
    }

    fn close(&mut self) {
        self.0.segs.push(Seg::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_gb2312_text_and_reports_the_rest() {
        assert!(has_glyph('营') && has_glyph('《') && has_glyph('A') && has_glyph('〔'));
        assert_eq!(missing_characters("康巴什区\n𠀀食品𠀀"), vec!['𠀀']);
        let f = font().unwrap();
        assert!(
            (f.advance('营') - 1.0).abs() < 0.01,
            "CJK glyphs are one em wide"
        );
        assert!(f.advance('i') < 0.5);
        let (g, replaced) = f.glyph('𠀀');
        assert!(replaced);
        assert_eq!(g, f.glyph(REPLACEMENT).0);
    }
}
