//! The PDF writer: pages from [`crate::layout`], text in one Type 0 font (Identity-H) over a
//! `CIDFontType2` whose `FontFile2` is a subset of the embedded font holding only the glyphs the
//! document uses, with a `ToUnicode` CMap so the text can be searched and copied; the seal and the
//! QR code are vector paths. The output is deterministic: the same document gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use crate::error::RenderError;
use crate::font::{Font, POSTSCRIPT_NAME, REPLACEMENT, font};
use crate::layout::{Layout, Op, PAGE_HEIGHT, PAGE_WIDTH, Rgb, layout};
use crate::model::Document;
use crate::qr::QUIET_ZONE;
use crate::seal::{SEAL_DIAMETER_MM, seal_path};

/// A rendered document and what the renderer noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The PDF file.
    pub bytes: Vec<u8>,
    /// Number of pages.
    pub pages: usize,
    /// Characters the embedded font lacks, drawn as [`REPLACEMENT`] (each once, in order).
    pub missing: Vec<char>,
}

/// Renders `doc` as an A4 PDF. Characters the font lacks are drawn as □; use [`pdf_report`] to
/// learn which.
pub fn pdf(doc: &Document) -> Result<Vec<u8>, RenderError> {
    pdf_report(doc).map(|r| r.bytes)
}

/// Renders `doc` as an A4 PDF and reports the page count and the characters drawn as □.
pub fn pdf_report(doc: &Document) -> Result<Rendered, RenderError> {
    doc.validate()?;
    let font = font()?;
    let layout = layout(doc, font)?;
    write(doc, font, &layout)
}

/// The glyphs of the document: old glyph id → new (subset) glyph id, and the text each new id
/// stands for in the ToUnicode CMap.
struct Glyphs {
    remapper: GlyphRemapper,
    /// new glyph id → character
    unicode: BTreeMap<u16, char>,
    missing: Vec<char>,
}

impl Glyphs {
    fn new() -> Self {
        Self {
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
            missing: Vec::new(),
        }
    }

    /// The CID (new glyph id) of `c`, registering it on first use.
    fn cid(&mut self, font: &Font, c: char) -> u16 {
        let (glyph, replaced) = font.glyph(c);
        let cid = self.remapper.remap(glyph.0);
        if replaced {
            if !self.missing.contains(&c) {
                self.missing.push(c);
            }
            self.unicode.entry(cid).or_insert(REPLACEMENT);
        } else {
            self.unicode.entry(cid).or_insert(c);
        }
        cid
    }
}

fn flate(data: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| RenderError::Font(e.to_string()))
}

/// A six-letter subset tag derived from the glyph set (PDF 32000 §9.6.4), so the same glyphs
/// always give the same tag.
fn subset_tag(glyphs: &Glyphs) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for g in glyphs.remapper.remapped_gids() {
        for b in g.to_be_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

fn color(out: &mut String, c: Rgb, fill: bool) {
    let op = if fill { "rg" } else { "RG" };
    let _ = writeln!(out, "{:.3} {:.3} {:.3} {op}", c.0, c.1, c.2);
}

fn write(doc: &Document, font: &Font, layout: &Layout) -> Result<Rendered, RenderError> {
    let mut glyphs = Glyphs::new();

    let mut alloc = Ref::new(1);
    let catalog_id = alloc.bump();
    let tree_id = alloc.bump();
    let info_id = alloc.bump();
    let type0_id = alloc.bump();
    let cid_id = alloc.bump();
    let descriptor_id = alloc.bump();
    let cmap_id = alloc.bump();
    let file_id = alloc.bump();
    let gs_id = alloc.bump();
    let page_ids: Vec<(Ref, Ref)> = layout
        .pages
        .iter()
        .map(|_| (alloc.bump(), alloc.bump()))
        .collect();

    let mut pdf = Pdf::new();
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id);
        catalog.lang(TextStr("zh-CN"));
        catalog.viewer_preferences().display_doc_title(true);
    }
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(page_ids.len() as i32);
    pdf.document_info(info_id)
        .title(TextStr(&doc.title))
        .producer(TextStr("Yiwang (一网)"));

    // Content streams first: they register every glyph with the remapper.
    let mut contents = Vec::with_capacity(layout.pages.len());
    for ops in &layout.pages {
        contents.push(content(ops, font, &mut glyphs)?);
    }

    for ((page_id, content_id), data) in page_ids.iter().zip(&contents) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree_id);
        page.contents(*content_id);
        let mut resources = page.resources();
        resources.fonts().pair(Name(b"F1"), type0_id);
        resources.ext_g_states().pair(Name(b"GS1"), gs_id);
        resources.finish();
        page.finish();
        let compressed = flate(data.as_bytes())?;
        pdf.stream(*content_id, &compressed)
            .filter(Filter::FlateDecode);
    }

    // The seal is printed like ink: multiplied onto what is under it, slightly translucent.
    pdf.ext_graphics(gs_id)
        .blend_mode(pdf_writer::types::BlendMode::Multiply)
        .non_stroking_alpha(0.9);

    // The font.
    let base_font = format!("{}+{POSTSCRIPT_NAME}", subset_tag(&glyphs));
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(type0_id)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let em = font.units_per_em();
    let scale = |v: f32| v * 1000.0 / em;
    let old_ids: Vec<u16> = glyphs.remapper.remapped_gids().collect();
    let widths: Vec<f32> = old_ids
        .iter()
        .map(|&g| scale(f32::from(font.advance_units(ttf_parser::GlyphId(g)))))
        .collect();
    {
        let mut cid = pdf.cid_font(cid_id);
        cid.subtype(CidFontType::Type2);
        cid.base_font(Name(base_font.as_bytes()));
        cid.system_info(system_info);
        cid.font_descriptor(descriptor_id);
        cid.default_width(1000.0);
        cid.widths().consecutive(0, widths.iter().copied());
        cid.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    let (x0, y0, x1, y1) = font.bbox();
    pdf.font_descriptor(descriptor_id)
        .name(Name(base_font.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            scale(f32::from(x0)),
            scale(f32::from(y0)),
            scale(f32::from(x1)),
            scale(f32::from(y1)),
        ))
        .italic_angle(0.0)
        .ascent(scale(f32::from(font.ascender())))
        .descent(scale(f32::from(font.descender())))
        .cap_height(scale(f32::from(font.cap_height())))
        .stem_v(80.0)
        .font_file2(file_id);

    let subset = subsetter::subset(crate::font::FONT_DATA, 0, &glyphs.remapper)
        .map_err(|e| RenderError::Font(format!("{e:?}")))?;
    let compressed = flate(&subset)?;
    pdf.stream(file_id, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);

    let mut cmap = UnicodeCmap::new(Name(b"Yiwang-UTF16"), system_info);
    for (&cid, &c) in &glyphs.unicode {
        cmap.pair(cid, c);
    }
    let cmap_data = cmap.finish();
    pdf.cmap(cmap_id, &cmap_data);

    Ok(Rendered {
        bytes: pdf.finish(),
        pages: layout.pages.len(),
        missing: glyphs.missing,
    })
}

/// One page's content stream.
fn content(ops: &[Op], font: &Font, glyphs: &mut Glyphs) -> Result<String, RenderError> {
    let mut out = String::new();
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                color: c,
                spacing,
                bold,
                text,
            } => {
                out.push_str("BT\n");
                color(&mut out, *c, true);
                // Bold: fill and stroke the outlines (render mode 2) with a thin line in the same
                // colour. Tr belongs to the graphics state: set it for every run.
                if *bold {
                    color(&mut out, *c, false);
                    let _ = writeln!(out, "2 Tr {:.2} w", size * 0.035);
                } else {
                    out.push_str("0 Tr\n");
                }
                let _ = writeln!(out, "/F1 {size:.2} Tf");
                // Tc belongs to the graphics state and outlives ET: set it for every run.
                let _ = writeln!(out, "{spacing:.3} Tc");
                let _ = writeln!(out, "1 0 0 1 {x:.2} {y:.2} Tm");
                out.push('<');
                for ch in text.chars() {
                    let cid = glyphs.cid(font, ch);
                    let _ = write!(out, "{cid:04X}");
                }
                out.push_str("> Tj\nET\n");
            }
            Op::Frame {
                x,
                y,
                w,
                h,
                width,
                color: c,
            } => {
                color(&mut out, *c, false);
                let _ = writeln!(out, "{width:.2} w\n{x:.2} {y:.2} {w:.2} {h:.2} re S");
            }
            Op::Fill {
                x,
                y,
                w,
                h,
                color: c,
            } => {
                color(&mut out, *c, true);
                let _ = writeln!(out, "{x:.2} {y:.2} {w:.2} {h:.2} re f");
            }
            Op::Seal {
                cx,
                cy,
                diameter,
                department,
            } => {
                let path = seal_path(department)?;
                let scale = diameter / SEAL_DIAMETER_MM;
                out.push_str("q\n/GS1 gs\n");
                let (r, g, b) = crate::seal::SEAL_RED;
                color(
                    &mut out,
                    Rgb(
                        f32::from(r) / 255.0,
                        f32::from(g) / 255.0,
                        f32::from(b) / 255.0,
                    ),
                    true,
                );
                path.pdf_ops(&mut out, |px, py| (cx + px * scale, cy + py * scale));
                out.push_str("f\nQ\n");
            }
            Op::Qr { x, y, size, matrix } => {
                let module = size / (matrix.width + 2 * QUIET_ZONE) as f32;
                let top = y + size - QUIET_ZONE as f32 * module;
                let left = x + QUIET_ZONE as f32 * module;
                out.push_str("q\n0 0 0 rg\n");
                for (row, col, len) in matrix.runs() {
                    let _ = writeln!(
                        out,
                        "{:.3} {:.3} {:.3} {:.3} re",
                        left + col as f32 * module,
                        top - (row + 1) as f32 * module,
                        len as f32 * module,
                        module
                    );
                }
                out.push_str("f\nQ\n");
            }
        }
    }
    Ok(out)
}
