//! Server-rendered SVG bar charts for the indicator pages: no JavaScript, no chart library, no
//! inline style (the CSP forbids it; colours come from classes in `app.css`). A chart is a
//! horizontal bar chart, one row per label and one bar per series, scaled to a fixed maximum,
//! 390 units wide (`viewBox`, `width="100%"`) so it fits a phone. Every text is escaped; the
//! `<svg>` is `role="img"` named by its `<title>` (`aria-labelledby`) and described by its
//! `<desc>`; the figures are also in the page's tables.

use std::fmt::Write as _;

/// Width of the drawing, in user units.
const WIDTH: f64 = 390.0;
/// Where the bars start (the labels are on their left).
const BAR_X: f64 = 132.0;
/// Room kept on the right for the value.
const VALUE_ROOM: f64 = 48.0;
const BAR_H: f64 = 14.0;
const GAP: f64 = 4.0;
const ROW_GAP: f64 = 10.0;
const TOP: f64 = 8.0;
const LEGEND_H: f64 = 22.0;
/// Characters of a label kept before "…".
const LABEL_CHARS: usize = 9;

/// One series of values (a bar per row).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// Suffix of the bars' class: `chart-bar-{class}`.
    pub class: &'static str,
}

/// One row: its label and one value per series (`None` is drawn as "—" without a bar).
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// A horizontal bar chart.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Prefix of the element ids (`{id}-title`, `{id}-desc`).
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub series: Vec<Series>,
    pub rows: Vec<Row>,
    /// The value of a full-length bar.
    pub max: f64,
    /// Appended to each value shown (`%`, or nothing).
    pub suffix: &'a str,
    /// Decimals of the values shown.
    pub decimals: usize,
}

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(text: &str) -> String {
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

fn short(label: &str) -> String {
    if label.chars().count() > LABEL_CHARS {
        let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
        s.push('…');
        s
    } else {
        label.to_owned()
    }
}

impl BarChart<'_> {
    /// The `<svg>` element.
    #[expect(
        clippy::cast_precision_loss,
        reason = "row and series counts are small (departments of a region)"
    )]
    pub fn render(&self) -> String {
        let n_series = self.series.len().max(1);
        let legend = if self.series.len() > 1 { LEGEND_H } else { 0.0 };
        let row_h = n_series as f64 * BAR_H + (n_series as f64 - 1.0) * GAP;
        let height = TOP + legend + self.rows.len() as f64 * (row_h + ROW_GAP) + TOP;
        let id = escape(self.id);
        let span = WIDTH - BAR_X - VALUE_ROOM;
        let max = if self.max > 0.0 { self.max } else { 1.0 };
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%" viewBox="0 0 {WIDTH} {height}" aria-labelledby="{id}-title {id}-desc" id="{id}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
            escape(self.title),
            escape(self.description),
        );
        if legend > 0.0 {
            // From the left edge: the legend may be wider than the bars' column.
            let mut x = 0.0;
            for s in &self.series {
                let _ = write!(
                    out,
                    r#"<rect class="chart-bar-{}" x="{x}" y="{TOP}" width="12" height="12"/><text class="chart-text" x="{}" y="{}" font-size="12">{}</text>"#,
                    s.class,
                    x + 16.0,
                    TOP + 11.0,
                    escape(&s.name),
                );
                x += 16.0 + text_width(&s.name) + 12.0;
            }
        }
        // The axis at zero.
        let axis_top = TOP + legend;
        let _ = write!(
            out,
            r#"<line class="chart-axis" x1="{BAR_X}" y1="{axis_top}" x2="{BAR_X}" y2="{}"/>"#,
            height - TOP
        );
        for (i, row) in self.rows.iter().enumerate() {
            let y = axis_top + ROW_GAP / 2.0 + i as f64 * (row_h + ROW_GAP);
            let _ = write!(
                out,
                r#"<text class="chart-text" x="{}" y="{}" font-size="12" text-anchor="end"><title>{}</title>{}</text>"#,
                BAR_X - 6.0,
                y + row_h / 2.0 + 4.0,
                escape(&row.label),
                escape(&short(&row.label)),
            );
            for (k, s) in self.series.iter().enumerate() {
                let by = y + k as f64 * (BAR_H + GAP);
                let value = row.values.get(k).copied().flatten();
                let (w, shown) = match value {
                    Some(v) => (
                        (v.clamp(0.0, max) / max * span).max(0.0),
                        format!("{v:.prec$}{}", self.suffix, prec = self.decimals),
                    ),
                    None => (0.0, "—".to_owned()),
                };
                let _ = write!(
                    out,
                    r#"<rect class="chart-bar-{}" x="{BAR_X}" y="{by}" width="{w:.1}" height="{BAR_H}"/><text class="chart-text" x="{:.1}" y="{}" font-size="11">{}</text>"#,
                    s.class,
                    BAR_X + w + 4.0,
                    by + BAR_H - 3.0,
                    escape(&shown),
                );
            }
        }
        out.push_str("</svg>");
        out
    }
}

/// The width of `text` at 12 units: a CJK character is about as wide as the font size, Latin
/// letters and digits about 0.6 of it.
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 7.0 } else { 12.5 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_text_and_carry_their_name() {
        let chart = BarChart {
            id: "c1",
            title: "得分 <排名>",
            description: "A & B",
            series: vec![Series {
                name: "x".to_owned(),
                class: "a",
            }],
            rows: vec![
                Row {
                    label: "<script>alert(1)</script>".to_owned(),
                    values: vec![Some(50.0)],
                },
                Row {
                    label: "无数据".to_owned(),
                    values: vec![None],
                },
            ],
            max: 100.0,
            suffix: "",
            decimals: 1,
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="c1-title c1-desc""#));
        assert!(svg.contains(r#"<title id="c1-title">得分 &lt;排名&gt;</title>"#));
        assert!(svg.contains("A &amp; B"));
        assert!(svg.contains(r#"viewBox="0 0 390 "#));
        assert!(svg.contains(r#"width="100%""#));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("50.0"));
        assert!(svg.contains("—"));
        // Half the span for 50 of 100.
        assert!(svg.contains(&format!(
            r#"width="{:.1}""#,
            (WIDTH - BAR_X - VALUE_ROOM) / 2.0
        )));
    }
}
