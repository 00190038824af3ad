//! The round red seal (公章 in the style of GA 241): a thick outer ring and a thin inner ring,
//! a five-pointed star in the centre and the department's name along the upper arc, each
//! character turned to face outwards. Built once as a vector path in millimetres (42 mm across,
//! the size for organs at county level and above) and written as SVG for pages or into the PDF.
//! The characters are outlines from the embedded font, so the seal looks the same everywhere
//! and its name is not mixed into the document's extractable text.

use crate::error::RenderError;
use crate::font::font;
use crate::model::MAX_DEPARTMENT_CHARS;
use crate::path::{Path, Seg};
use crate::qr::escape_xml;

/// Diameter of the seal, millimetres.
pub const SEAL_DIAMETER_MM: f32 = 42.0;
/// The seal's red (sRGB).
pub const SEAL_RED: (u8, u8, u8) = (0xD8, 0x1E, 0x06);

const OUTER_RADIUS: f32 = 21.0;
const OUTER_WIDTH: f32 = 1.2;
const INNER_RING_RADIUS: f32 = 19.1;
const INNER_RING_WIDTH: f32 = 0.35;
/// Radius of the tops of the name's characters.
const TEXT_TOP_RADIUS: f32 = 18.2;
const STAR_RADIUS: f32 = 7.0;

/// The seal of `department` as one path (mm, origin at the centre, y up).
pub(crate) fn seal_path(department: &str) -> Result<Path, RenderError> {
    let name = department.trim();
    if name.is_empty() {
        return Err(RenderError::Empty {
            field: "department".to_owned(),
        });
    }
    let chars: Vec<char> = name.chars().collect();
    if chars.len() > MAX_DEPARTMENT_CHARS {
        return Err(RenderError::TooLong {
            field: "department".to_owned(),
            max: MAX_DEPARTMENT_CHARS,
        });
    }
    if chars.iter().any(|c| c.is_control()) {
        return Err(RenderError::ControlCharacter {
            field: "department".to_owned(),
        });
    }
    let mut path = Path::default();
    path.ring(0.0, 0.0, OUTER_RADIUS, OUTER_RADIUS - OUTER_WIDTH);
    path.ring(
        0.0,
        0.0,
        INNER_RING_RADIUS,
        INNER_RING_RADIUS - INNER_RING_WIDTH,
    );
    star(&mut path, 0.0, 0.0, STAR_RADIUS);
    arc_text(&mut path, &chars)?;
    Ok(path)
}

/// A five-pointed star with one point up.
fn star(path: &mut Path, cx: f32, cy: f32, r: f32) {
    // Inner radius of a regular star: r · sin 18° / sin 54°.
    let inner = r * 0.381_966;
    let points: Vec<(f32, f32)> = (0..10)
        .map(|i| {
            let angle = std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
            let radius = if i % 2 == 0 { r } else { inner };
            (cx + radius * angle.cos(), cy + radius * angle.sin())
        })
        .collect();
    path.polygon(&points);
}

/// The characters along the upper arc, left to right (clockwise), centred on the top.
fn arc_text(path: &mut Path, chars: &[char]) -> Result<(), RenderError> {
    let font = font()?;
    let n = chars.len() as f32;
    // Taller characters for short names; long names are set smaller and narrower, as on real
    // seals. The span grows with the name up to 250° and never drops below 140° for three or
    // more characters, so short names spread out.
    let height: f32 = if chars.len() <= 12 {
        6.2
    } else if chars.len() <= 20 {
        5.4
    } else {
        4.4
    };
    let centre_radius = TEXT_TOP_RADIUS - height / 2.0;
    let natural = 0.9 * height / centre_radius; // radians per character at 0.9 width
    let mut span = (n * natural).min(250_f32.to_radians());
    if chars.len() >= 3 {
        span = span.max(140_f32.to_radians());
    }
    let step = span / n;
    let width = (0.88 * height).min(step * centre_radius * 0.86);
    let em = font.units_per_em();
    let (sx, sy) = (width / em, height / em);
    for (i, &c) in chars.iter().enumerate() {
        let (glyph, _) = font.glyph(c);
        let Some((outline, (x0, y0, x1, y1))) = font.outline(glyph) else {
            continue; // a space
        };
        let (gx, gy) = (f32::midpoint(x0, x1), f32::midpoint(y0, y1));
        let theta = -span / 2.0 + step * (i as f32 + 0.5);
        let (sin, cos) = theta.sin_cos();
        let (px, py) = (centre_radius * sin, centre_radius * cos);
        let map = |x: f32, y: f32| {
            let lx = (x - gx) * sx;
            let ly = (y - gy) * sy;
            // Rotate clockwise by theta (y up): the character's top points away from the centre.
            (px + lx * cos + ly * sin, py - lx * sin + ly * cos)
        };
        for seg in outline.segs {
            path.segs.push(match seg {
                Seg::Move(x, y) => {
                    let (x, y) = map(x, y);
                    Seg::Move(x, y)
                }
                Seg::Line(x, y) => {
                    let (x, y) = map(x, y);
                    Seg::Line(x, y)
                }
                Seg::Quad(x1, y1, x, y) => {
                    let (x1, y1) = map(x1, y1);
                    let (x, y) = map(x, y);
                    Seg::Quad(x1, y1, x, y)
                }
                Seg::Cubic(x1, y1, x2, y2, x, y) => {
                    let (x1, y1) = map(x1, y1);
                    let (x2, y2) = map(x2, y2);
                    let (x, y) = map(x, y);
                    Seg::Cubic(x1, y1, x2, y2, x, y)
                }
                Seg::Close => Seg::Close,
            });
        }
    }
    Ok(())
}

/// The seal of `department` as SVG: one red `<path>` in a 42 × 42 viewBox (millimetres),
/// `role="img"` with the department's name as `<title>`. Scale it with CSS (`width: 42mm` prints
/// it at its real size).
pub fn seal_svg(department: &str) -> Result<String, RenderError> {
    let path = seal_path(department)?;
    let (r, g, b) = SEAL_RED;
    let half = SEAL_DIAMETER_MM / 2.0;
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="{o} {o} {s} {s}" role="img">"#,
            r##"<title>{t}</title><path fill="#{r:02x}{g:02x}{b:02x}" fill-opacity="0.92" "##,
            r#"d="{d}"/></svg>"#
        ),
        o = -half,
        s = SEAL_DIAMETER_MM,
        t = escape_xml(department.trim()),
        r = r,
        g = g,
        b = b,
        d = path.svg_data(2),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_svg_is_one_red_path_with_a_title() {
        let svg = seal_svg("鄂尔多斯市康巴什区市场监督管理局").unwrap();
        assert!(svg.starts_with(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="-21 -21 42 42" role="img">"#
        ));
        assert!(svg.contains("<title>鄂尔多斯市康巴什区市场监督管理局</title>"));
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains(r##"fill="#d81e06""##));
        // Two rings (two circles each, four Béziers per circle), the star, and 16 glyphs with
        // at least one contour each.
        let path = seal_path("鄂尔多斯市康巴什区市场监督管理局").unwrap();
        let contours = path
            .segs
            .iter()
            .filter(|s| matches!(s, Seg::Move(..)))
            .count();
        assert!(contours >= 4 + 1 + 16, "{contours} contours");
    }

    #[test]
    fn every_point_stays_inside_the_seal() {
        for name in [
            "公安局",
            "合肥市市场监督管理局",
            "鄂尔多斯市康巴什区行政审批和政务服务局（政务服务中心）",
        ] {
            let path = seal_path(name).unwrap();
            for seg in &path.segs {
                // Points on the curve (control points of the rings lie outside them).
                let points: Vec<(f32, f32)> = match *seg {
                    Seg::Move(x, y)
                    | Seg::Line(x, y)
                    | Seg::Quad(_, _, x, y)
                    | Seg::Cubic(_, _, _, _, x, y) => vec![(x, y)],
                    Seg::Close => vec![],
                };
                for (x, y) in points {
                    assert!(x.hypot(y) <= OUTER_RADIUS + 0.01, "{name}: ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn the_name_runs_over_the_top_left_to_right() {
        // The first character sits left of the centre line and above the star, the last right.
        let path = seal_path("甲乙丙").unwrap();
        let glyph_starts: Vec<(f32, f32)> = path
            .segs
            .iter()
            .filter_map(|s| {
                if let Seg::Move(x, y) = *s {
                    Some((x, y))
                } else {
                    None
                }
            })
            .skip(5) // four ring circles and the star
            .collect();
        let first = glyph_starts.first().unwrap();
        let last = glyph_starts.last().unwrap();
        assert!(first.0 < 0.0 && last.0 > 0.0);
        assert!(first.1 > STAR_RADIUS && last.1 > STAR_RADIUS);
    }

    #[test]
    fn bad_names_are_errors() {
        assert_eq!(
            seal_svg("  "),
            Err(RenderError::Empty {
                field: "department".into()
            })
        );
        assert_eq!(
            seal_svg(&"局".repeat(MAX_DEPARTMENT_CHARS + 1)),
            Err(RenderError::TooLong {
                field: "department".into(),
                max: MAX_DEPARTMENT_CHARS
            })
        );
        assert_eq!(
            seal_svg("公安\n局"),
            Err(RenderError::ControlCharacter {
                field: "department".into()
            })
        );
    }
}
