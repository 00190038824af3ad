//! A small vector path type shared by the SVG and PDF output: the seal (rings, star, glyph
//! outlines) is built once as paths in millimetres with y pointing up, then written as SVG path
//! data (y flipped) or as PDF path operators.

use std::fmt::Write as _;

/// One path segment. Coordinates are absolute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg {
    Move(f32, f32),
    Line(f32, f32),
    Quad(f32, f32, f32, f32),
    Cubic(f32, f32, f32, f32, f32, f32),
    Close,
}

/// A path: a list of segments, filled with the non-zero rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Path {
    pub segs: Vec<Seg>,
}

/// The magic number of the four-Bézier circle.
const KAPPA: f32 = 0.552_284_8;

impl Path {
    /// A full circle as four cubic Béziers, counter-clockwise (y up) when `ccw`, else clockwise,
    /// so that a ring is one outer circle plus one inner circle of the opposite direction.
    pub fn circle(&mut self, cx: f32, cy: f32, r: f32, ccw: bool) {
        let k = r * KAPPA;
        let s = if ccw { 1.0 } else { -1.0 };
        self.segs.push(Seg::Move(cx + r, cy));
        self.segs.push(Seg::Cubic(
            cx + r,
            cy + s * k,
            cx + k,
            cy + s * r,
            cx,
            cy + s * r,
        ));
        self.segs.push(Seg::Cubic(
            cx - k,
            cy + s * r,
            cx - r,
            cy + s * k,
            cx - r,
            cy,
        ));
        self.segs.push(Seg::Cubic(
            cx - r,
            cy - s * k,
            cx - k,
            cy - s * r,
            cx,
            cy - s * r,
        ));
        self.segs.push(Seg::Cubic(
            cx + k,
            cy - s * r,
            cx + r,
            cy - s * k,
            cx + r,
            cy,
        ));
        self.segs.push(Seg::Close);
    }

    /// A ring (annulus) between radii `inner` and `outer`, filled with the non-zero rule.
    pub fn ring(&mut self, cx: f32, cy: f32, outer: f32, inner: f32) {
        self.circle(cx, cy, outer, true);
        self.circle(cx, cy, inner, false);
    }

    /// A closed polygon through `points`.
    pub fn polygon(&mut self, points: &[(f32, f32)]) {
        let mut iter = points.iter();
        if let Some(&(x, y)) = iter.next() {
            self.segs.push(Seg::Move(x, y));
            for &(x, y) in iter {
                self.segs.push(Seg::Line(x, y));
            }
            self.segs.push(Seg::Close);
        }
    }

    /// SVG path data with y flipped (SVG's y points down), numbers rounded to `decimals`.
    pub fn svg_data(&self, decimals: usize) -> String {
        let mut out = String::new();
        let n = |out: &mut String, v: f32| {
            let text = format!("{v:.decimals$}");
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.')
            } else {
                text.as_str()
            };
            let text = if text == "-0" { "0" } else { text };
            if !out.is_empty() && !text.starts_with('-') && !out.ends_with(char::is_alphabetic) {
                out.push(' ');
            }
            out.push_str(text);
        };
        for seg in &self.segs {
            match *seg {
                Seg::Move(x, y) => {
                    out.push('M');
                    n(&mut out, x);
                    n(&mut out, -y);
                }
                Seg::Line(x, y) => {
                    out.push('L');
                    n(&mut out, x);
                    n(&mut out, -y);
                }
                Seg::Quad(x1, y1, x, y) => {
                    out.push('Q');
                    for v in [x1, -y1, x, -y] {
                        n(&mut out, v);
                    }
                }
                Seg::Cubic(x1, y1, x2, y2, x, y) => {
                    out.push('C');
                    for v in [x1, -y1, x2, -y2, x, -y] {
                        n(&mut out, v);
                    }
                }
                Seg::Close => out.push('Z'),
            }
        }
        out
    }

    /// PDF path operators (`m`, `l`, `c`, `h`) after mapping every point through `map`;
    /// quadratic segments become cubic ones. The caller fills with `f`.
    pub fn pdf_ops(&self, out: &mut String, map: impl Fn(f32, f32) -> (f32, f32)) {
        let put = |out: &mut String, points: &[(f32, f32)], op: &str| {
            for &(px, py) in points {
                let (px, py) = map(px, py);
                let _ = write!(out, "{px:.2} {py:.2} ");
            }
            out.push_str(op);
            out.push('\n');
        };
        let mut current = (0.0_f32, 0.0_f32);
        let mut start = (0.0_f32, 0.0_f32);
        for seg in &self.segs {
            match *seg {
                Seg::Move(x, y) => {
                    put(out, &[(x, y)], "m");
                    current = (x, y);
                    start = current;
                }
                Seg::Line(x, y) => {
                    put(out, &[(x, y)], "l");
                    current = (x, y);
                }
                Seg::Quad(qx, qy, x, y) => {
                    // Degree elevation: the cubic's control points lie 2/3 of the way from each
                    // end towards the quadratic control point.
                    let near = (
                        current.0 + 2.0 / 3.0 * (qx - current.0),
                        current.1 + 2.0 / 3.0 * (qy - current.1),
                    );
                    let far = (x + 2.0 / 3.0 * (qx - x), y + 2.0 / 3.0 * (qy - y));
                    put(out, &[near, far, (x, y)], "c");
                    current = (x, y);
                }
                Seg::Cubic(x1, y1, x2, y2, x, y) => {
                    put(out, &[(x1, y1), (x2, y2), (x, y)], "c");
                    current = (x, y);
                }
                Seg::Close => {
                    out.push_str("h\n");
                    current = start;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_data_flips_y_and_is_compact() {
        let mut p = Path::default();
        p.polygon(&[(0.0, 0.0), (1.5, 2.0), (-1.25, 0.1)]);
        assert_eq!(p.svg_data(2), "M0 0L1.5-2L-1.25-0.1Z");
    }

    #[test]
    fn quads_become_cubics_in_pdf() {
        let p = Path {
            segs: vec![
                Seg::Move(0.0, 0.0),
                Seg::Quad(3.0, 3.0, 6.0, 0.0),
                Seg::Close,
            ],
        };
        let mut out = String::new();
        p.pdf_ops(&mut out, |x, y| (x, y));
        assert_eq!(out, "0.00 0.00 m\n2.00 2.00 4.00 2.00 6.00 0.00 c\nh\n");
    }
}
