//! An SVG drawing of a workflow definition, for the workflow pages, on the layout of
//! [`yiwang_cases::diagram`].
//!
//! One box per step with its name, the post's name and its time limit, an arrow for every `next`
//! edge, a bar where parallel branches meet (会签汇合), and the implied last box: the intake post
//! delivers the result (办结送达).
//!
//! The output is a standalone SVG (no external fonts, images or CSS — the pages' CSP allows no inline
//! styles, so only presentation attributes are used), fixed 640 units wide and scaled with
//! `width="100%"`. Every text is XML-escaped, and the same definition always gives the same string.

use std::collections::HashMap;
use std::fmt::Write as _;

use yiwang_cases::diagram::{BOX_H, Layout, MARGIN, Node, WIDTH, int, layout};
use yiwang_cases::workflow::{PostRef, StepKind, WorkflowDef};

/// The words the diagram shows, already translated by the web layer.
pub struct DiagramLabels<'a> {
    /// The diagram's accessible name (its `<title>`), e.g. "办理流程图".
    pub title: &'a str,
    /// The implied last box, done by the intake post, e.g. "办结送达".
    pub deliver: &'a str,
    /// A step's time limit, `{n}` standing for the number, e.g. "{n} 个工作日".
    pub working_days: &'a str,
    /// Beside a step that forks into parallel branches, e.g. "并联审批".
    pub parallel: &'a str,
    /// Beside the bar where parallel branches meet, e.g. "会签汇合".
    pub join: &'a str,
    /// Badge of a workflow on commitment, e.g. "告知承诺".
    pub commitment: &'a str,
    /// Badge of an instant workflow, e.g. "即办件".
    pub instant: &'a str,
    /// The human name of a post, shown under the step name.
    pub post_name: &'a dyn Fn(&PostRef) -> String,
}

impl std::fmt::Debug for DiagramLabels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagramLabels")
            .field("title", &self.title)
            .field("deliver", &self.deliver)
            .field("working_days", &self.working_days)
            .field("parallel", &self.parallel)
            .field("join", &self.join)
            .field("commitment", &self.commitment)
            .field("instant", &self.instant)
            .finish_non_exhaustive()
    }
}

const TEXT_PAD: i64 = 12;
// Font sizes.
const NAME_PX: i64 = 17;
const POST_PX: i64 = 13;
const NOTE_PX: i64 = 12;
const BADGE_PX: i64 = 13;

const FONTS: &str =
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";
// Colours: strokes at least 4.5:1 on white, texts at least 9:1 on their fills.
const INK: &str = "#111827";
const INK_SOFT: &str = "#374151";
const EDGE: &str = "#4b5563";

struct Style {
    stroke: &'static str,
    fill: &'static str,
    rx: i64,
    dashed: bool,
    double: bool,
    class: &'static str,
}

fn style(kind: Option<StepKind>) -> Style {
    match kind {
        // Rounder ends for the window (受理, 送达), a double border for the decision: the kinds differ in
        // shape as well as colour.
        Some(StepKind::Intake) => Style {
            stroke: "#1d4ed8",
            fill: "#eff6ff",
            rx: 20,
            dashed: false,
            double: false,
            class: "step step-intake",
        },
        Some(StepKind::Review) => Style {
            stroke: "#b45309",
            fill: "#fffbeb",
            rx: 8,
            dashed: false,
            double: false,
            class: "step step-review",
        },
        Some(StepKind::Decide) => Style {
            stroke: "#15803d",
            fill: "#f0fdf4",
            rx: 8,
            dashed: false,
            double: true,
            class: "step step-decide",
        },
        None => Style {
            stroke: EDGE,
            fill: "#f9fafb",
            rx: 20,
            dashed: true,
            double: false,
            class: "deliver",
        },
    }
}

/// Draw `def` as a standalone SVG document.
pub fn svg(def: &WorkflowDef, labels: &DiagramLabels) -> String {
    let Layout {
        nodes,
        edges,
        order,
        deliver,
        height,
        ..
    } = layout(def);
    let badges: Vec<(&str, String)> = badges(def, labels);
    let prefix = id_prefix(def, labels);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" \
         role=\"img\" aria-labelledby=\"{prefix}-title\" aria-describedby=\"{prefix}-desc\" \
         font-family=\"{}\">",
        escape(FONTS)
    );
    let _ = writeln!(
        out,
        "<title id=\"{prefix}-title\">{}</title>",
        escape(labels.title)
    );
    let _ = writeln!(
        out,
        "<desc id=\"{prefix}-desc\">{}</desc>",
        escape(&description(def, labels, &order, deliver, &badges))
    );
    let _ = writeln!(
        out,
        "<defs><marker id=\"{prefix}-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0 0L10 5L0 10z\" fill=\"{EDGE}\"/></marker></defs>"
    );
    draw_badges(&mut out, &badges);
    for (i, node) in nodes.iter().enumerate() {
        let Some(node) = *node else { continue };
        if let Some(step) = def.steps.get(i) {
            let limit = step
                .limit_days
                .map(|d| labels.working_days.replace("{n}", &d.to_string()));
            draw_box(
                &mut out,
                node,
                &style(Some(step.kind)),
                Some(&step.id),
                &step.name,
                &(labels.post_name)(&step.post),
                limit.as_deref(),
            );
        } else {
            let post = def
                .intake()
                .map(|s| (labels.post_name)(&s.post))
                .unwrap_or_default();
            draw_box(
                &mut out,
                node,
                &style(None),
                None,
                labels.deliver,
                &post,
                None,
            );
        }
    }
    draw_edges(&mut out, def, &nodes, &edges, &prefix, labels);
    out.push_str("</svg>\n");
    out
}

fn badges<'a>(def: &WorkflowDef, labels: &DiagramLabels<'a>) -> Vec<(&'a str, String)> {
    let mut badges = Vec::new();
    if def.instant {
        badges.push((labels.instant, labels.instant.to_owned()));
    }
    if let Some(c) = &def.commitment {
        let days = labels
            .working_days
            .replace("{n}", &c.verify_within_days.to_string());
        badges.push((
            labels.commitment,
            format!(
                "{}: {}, {days}",
                labels.commitment,
                (labels.post_name)(&c.verify_post)
            ),
        ));
    }
    badges
}

/// The steps in order, for screen readers: one numbered line per row.
fn description(
    def: &WorkflowDef,
    labels: &DiagramLabels,
    order: &[Vec<usize>],
    deliver: usize,
    badges: &[(&str, String)],
) -> String {
    let mut lines: Vec<String> = badges.iter().map(|(_, full)| full.clone()).collect();
    for (row, members) in order.iter().enumerate() {
        let items: Vec<String> = members
            .iter()
            .map(|&i| match def.steps.get(i) {
                Some(step) => {
                    let mut parts = vec![(labels.post_name)(&step.post)];
                    if let Some(d) = step.limit_days {
                        parts.push(labels.working_days.replace("{n}", &d.to_string()));
                    }
                    if step.join {
                        parts.push(labels.join.to_owned());
                    }
                    format!("{} ({})", one_line(&step.name), one_line(&parts.join(", ")))
                }
                None if i == deliver => match def.intake() {
                    Some(intake) => format!(
                        "{} ({})",
                        labels.deliver,
                        one_line(&(labels.post_name)(&intake.post))
                    ),
                    None => labels.deliver.to_owned(),
                },
                None => String::new(),
            })
            .collect();
        let line = if items.len() > 1 {
            format!("{}. {}: {}", row + 1, labels.parallel, items.join("; "))
        } else {
            format!("{}. {}", row + 1, items.join("; "))
        };
        lines.push(line);
    }
    lines.join("\n")
}

fn draw_badges(out: &mut String, badges: &[(&str, String)]) {
    let mut x = MARGIN;
    for (text, full) in badges {
        let shown = fit(text, WIDTH / 2, BADGE_PX);
        let w = text_px(&shown, BADGE_PX) + 24;
        let _ = writeln!(
            out,
            "<g class=\"badge\"><title>{}</title><rect x=\"{x}\" y=\"12\" width=\"{w}\" height=\"26\" \
             rx=\"13\" fill=\"#f3f4f6\" stroke=\"{INK_SOFT}\"/><text x=\"{}\" y=\"30\" \
             font-size=\"{BADGE_PX}\" fill=\"{INK}\">{}</text></g>",
            escape(full),
            x + 12,
            escape(&shown)
        );
        x += w + 8;
    }
}

fn draw_box(
    out: &mut String,
    node: Node,
    style: &Style,
    step_id: Option<&str>,
    name: &str,
    post: &str,
    limit: Option<&str>,
) {
    let Node { x, y, w, .. } = node;
    let cx = node.cx();
    let inner = w - 2 * TEXT_PAD;
    let mut full = vec![one_line(name)];
    if !post.trim().is_empty() {
        full.push(one_line(post));
    }
    if let Some(limit) = limit {
        full.push(one_line(limit));
    }
    let data = step_id
        .map(|id| format!(" data-step=\"{}\"", escape(id)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<g class=\"{}\"{data}><title>{}</title>",
        style.class,
        escape(&full.join(" · "))
    );
    let dash = if style.dashed {
        " stroke-dasharray=\"6 4\""
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{BOX_H}\" rx=\"{}\" fill=\"{}\" \
         stroke=\"{}\" stroke-width=\"2\"{dash}/>",
        style.rx, style.fill, style.stroke
    );
    if style.double {
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"none\" \
             stroke=\"{}\" stroke-width=\"1\"/>",
            x + 4,
            y + 4,
            w - 8,
            BOX_H - 8,
            (style.rx - 4).max(2),
            style.stroke
        );
    }
    // Baselines: three lines with a limit, two centred lines without.
    let mut lines = vec![(NAME_PX, true, one_line(name))];
    if !post.trim().is_empty() {
        lines.push((POST_PX, false, one_line(post)));
    }
    if let Some(limit) = limit {
        lines.push((NOTE_PX, false, one_line(limit)));
    }
    let baselines: &[i64] = match lines.len() {
        1 => &[44],
        2 => &[33, 55],
        _ => &[26, 46, 64],
    };
    for ((px, bold, text), offset) in lines.into_iter().zip(baselines) {
        let baseline = y + offset;
        // Bold glyphs run a little wider.
        let measure_px = if bold { px + 1 } else { px };
        let shown = fit(&text, inner, measure_px);
        let (weight, colour) = if bold {
            (" font-weight=\"700\"", INK)
        } else {
            ("", INK_SOFT)
        };
        let _ = writeln!(
            out,
            "<text x=\"{cx}\" y=\"{baseline}\" text-anchor=\"middle\" font-size=\"{px}\"{weight} \
             fill=\"{colour}\">{}</text>",
            escape(&shown)
        );
    }
    out.push_str("</g>\n");
}

fn draw_edges(
    out: &mut String,
    def: &WorkflowDef,
    nodes: &[Option<Node>],
    edges: &[(usize, usize)],
    prefix: &str,
    labels: &DiagramLabels,
) {
    let placed: Vec<(usize, usize, Node, Node)> = edges
        .iter()
        .filter_map(|&(a, b)| Some((a, b, nodes.get(a).copied()??, nodes.get(b).copied()??)))
        .collect();
    let forward = |s: &Node, t: &Node| t.row > s.row;

    // Arrival points: spread along the top of a step several arrows lead to.
    let mut arrivals: HashMap<(usize, usize), i64> = HashMap::new();
    let mut joins: Vec<(usize, i64, i64)> = Vec::new();
    for (b, target) in nodes.iter().enumerate() {
        let Some(target) = *target else { continue };
        let mut incoming: Vec<(i64, usize)> = placed
            .iter()
            .filter(|&&(_, to, s, t)| to == b && forward(&s, &t))
            .map(|&(a, _, s, _)| (s.cx(), a))
            .collect();
        incoming.sort_unstable();
        incoming.dedup();
        let k = int(incoming.len());
        let span = if k > 1 {
            (60 * (k - 1)).min(target.w - 40)
        } else {
            0
        };
        let left = target.cx() - span / 2;
        for (i, &(_, a)) in incoming.iter().enumerate() {
            let x = if k > 1 {
                left + span * int(i) / (k - 1)
            } else {
                target.cx()
            };
            arrivals.insert((a, b), x);
        }
        if def.steps.get(b).is_some_and(|s| s.join) {
            joins.push((b, left - 10, left + span + 10));
        }
    }

    // Where each arrow down first turns: above its target, or into a free lane past the rows between.
    let mut turn: HashMap<(usize, usize), i64> = HashMap::new();
    for &(a, b, s, t) in &placed {
        if !forward(&s, &t) {
            continue;
        }
        let tx = arrivals.get(&(a, b)).copied().unwrap_or(t.cx());
        let x = if t.row == s.row + 1 {
            tx
        } else {
            let blocked: Vec<(i64, i64)> = nodes
                .iter()
                .flatten()
                .filter(|n| n.row > s.row && n.row < t.row)
                .map(|n| (n.x - 12, n.x + n.w + 12))
                .collect();
            free_lane(&blocked, tx)
        };
        turn.insert((a, b), x);
    }

    // Each source's height in the channel under its row: the first level where its horizontal run
    // does not overlap another source's.
    let mut channel: HashMap<usize, i64> = HashMap::new();
    let mut runs: Vec<(usize, usize, i64, i64)> = Vec::new(); // (row, source, left, right)
    for &(a, b, s, _) in &placed {
        if let Some(&x) = turn.get(&(a, b)) {
            let (left, right) = (x.min(s.cx()), x.max(s.cx()));
            match runs.iter_mut().find(|r| r.1 == a) {
                Some(run) => {
                    run.2 = run.2.min(left);
                    run.3 = run.3.max(right);
                }
                None => runs.push((s.row, a, left, right)),
            }
        }
    }
    runs.sort_unstable_by_key(|&(row, a, left, _)| (row, left, a));
    let mut taken: Vec<(usize, i64, i64, i64)> = Vec::new(); // (row, level, left, right)
    for &(row, a, left, right) in &runs {
        let level = (0..4)
            .find(|&level| {
                !taken.iter().any(|&(r, l, lo, hi)| {
                    r == row && l == level && left <= hi + 6 && right + 6 >= lo
                })
            })
            .unwrap_or(3);
        taken.push((row, level, left, right));
        if let Some(node) = nodes[a] {
            channel.insert(a, node.bottom() + 22 + level * 8);
        }
    }

    let mut back_lanes = 0;
    for &(a, b, s, t) in &placed {
        let is_join = def.steps.get(b).is_some_and(|st| st.join);
        let points: Vec<(i64, i64)> = if forward(&s, &t) {
            let sx = s.cx();
            let sy = s.bottom();
            let cy = channel.get(&a).copied().unwrap_or(sy + 22);
            let tx = arrivals.get(&(a, b)).copied().unwrap_or(t.cx());
            let ty = if is_join { t.y - 5 } else { t.y };
            let x = turn.get(&(a, b)).copied().unwrap_or(tx);
            let ay = if t.row == s.row + 1 { cy } else { t.y - 22 };
            vec![(sx, sy), (sx, cy), (x, cy), (x, ay), (tx, ay), (tx, ty)]
        } else {
            // Back or sideways (only in a definition that will be rejected): round the right margin.
            let lane = WIDTH - 10 - 6 * back_lanes;
            back_lanes += 1;
            vec![
                (s.x + s.w, s.y + BOX_H / 3),
                (lane, s.y + BOX_H / 3),
                (lane, t.y + 2 * BOX_H / 3),
                (t.x + t.w, t.y + 2 * BOX_H / 3),
            ]
        };
        let from = def
            .steps
            .get(a)
            .map(|st| st.id.as_str())
            .unwrap_or_default();
        let to = match def.steps.get(b) {
            Some(st) => format!(" data-to=\"{}\"", escape(&st.id)),
            None => " data-delivery=\"true\"".to_owned(),
        };
        let dash = if forward(&s, &t) {
            ""
        } else {
            " stroke-dasharray=\"4 3\""
        };
        let _ = writeln!(
            out,
            "<path class=\"edge\" data-from=\"{}\"{to} d=\"{}\" fill=\"none\" stroke=\"{EDGE}\" \
             stroke-width=\"1.5\"{dash} marker-end=\"url(#{prefix}-arrow)\"/>",
            escape(from),
            path(&points)
        );
    }

    // Forks and joins, labelled.
    for (i, step) in def.steps.iter().enumerate() {
        let Some(node) = nodes[i] else { continue };
        if step.next.len() > 1 {
            let _ = writeln!(
                out,
                "<text class=\"fork\" x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"{INK_SOFT}\">{}</text>",
                node.cx() + 6,
                node.bottom() + 15,
                escape(&fit(labels.parallel, 120, NOTE_PX))
            );
        }
    }
    for (b, left, right) in joins {
        let Some(node) = nodes[b] else { continue };
        let _ = writeln!(
            out,
            "<g class=\"join\"><rect x=\"{left}\" y=\"{}\" width=\"{}\" height=\"5\" fill=\"{INK}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"{INK_SOFT}\">{}</text></g>",
            node.y - 5,
            right - left,
            right + 6,
            node.y - 4,
            escape(&fit(labels.join, 120, NOTE_PX))
        );
    }
}

/// The x nearest `want` clear of every blocked interval (and of the diagram's edges).
fn free_lane(blocked: &[(i64, i64)], want: i64) -> i64 {
    let mut free = vec![(8, WIDTH - 8)];
    for &(lo, hi) in blocked {
        free = free
            .into_iter()
            .flat_map(|(a, b)| {
                let mut parts = Vec::new();
                if a < lo {
                    parts.push((a, b.min(lo)));
                }
                if b > hi {
                    parts.push((a.max(hi), b));
                }
                parts
            })
            .collect();
    }
    free.iter()
        .map(|&(a, b)| want.clamp(a, b))
        .min_by_key(|&x| ((x - want).abs(), x))
        .unwrap_or(WIDTH - 8)
}

/// Path data through `points`, as horizontal and vertical runs where it can.
fn path(points: &[(i64, i64)]) -> String {
    let mut kept: Vec<(i64, i64)> = Vec::new();
    for &p in points {
        if kept.last() == Some(&p) {
            continue;
        }
        // A point in the middle of a straight run is not a corner.
        if let [.., a, b] = kept.as_slice()
            && ((a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1))
        {
            kept.pop();
        }
        kept.push(p);
    }
    let mut d = String::new();
    let mut at: Option<(i64, i64)> = None;
    for (x, y) in kept {
        let _ = match at {
            None => write!(d, "M{x} {y}"),
            Some((px, _)) if px == x => write!(d, "V{y}"),
            Some((_, py)) if py == y => write!(d, "H{x}"),
            Some(_) => write!(d, "L{x} {y}"),
        };
        at = Some((x, y));
    }
    d
}

/// Ids unique to the drawing (several diagrams may share a page), the same for the same input.
fn id_prefix(def: &WorkflowDef, labels: &DiagramLabels) -> String {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in def.to_json().bytes().chain(labels.title.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("wf{hash:08x}")
}

/// Newlines and tabs as spaces: every text in the drawing is one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Text for XML content and attribute values; characters XML 1.0 cannot hold are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A character's estimated advance in thousandths of an em: CJK and full-width forms take a whole
/// em, Latin letters about half.
fn char_milli_em(c: char) -> i64 {
    match c {
        ' ' => 300,
        'A'..='Z' | 'm' | 'w' | '@' => 680,
        c if c.is_ascii() => 550,
        '\u{1100}'..='\u{115f}'
        | '\u{2026}'
        | '\u{2e80}'..='\u{a4cf}'
        | '\u{ac00}'..='\u{d7a3}'
        | '\u{f900}'..='\u{faff}'
        | '\u{fe30}'..='\u{fe4f}'
        | '\u{ff00}'..='\u{ff60}'
        | '\u{ffe0}'..='\u{ffe6}'
        | '\u{20000}'..='\u{3fffd}' => 1000,
        _ => 600,
    }
}

fn text_px(text: &str, font_px: i64) -> i64 {
    text.chars().map(char_milli_em).sum::<i64>() * font_px / 1000
}

/// `text` if it fits in `max_px`, else as much of it as fits followed by an ellipsis.
fn fit(text: &str, max_px: i64, font_px: i64) -> String {
    if text_px(text, font_px) <= max_px {
        return text.to_owned();
    }
    let budget = max_px * 1000 / font_px.max(1) - char_milli_em('…');
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        used += char_milli_em(c);
        if used > budget {
            break;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQUENTIAL: &str = r#"
        [[steps]]
        id = "accept"
        name = "受理"
        kind = "intake"
        post = "a/window"
        next = ["review"]
        limit_days = 1
        [[steps]]
        id = "review"
        name = "审查"
        kind = "review"
        post = "a/review"
        next = ["decide"]
        limit_days = 5
        [[steps]]
        id = "decide"
        name = "决定"
        kind = "decide"
        post = "a/chief"
    "#;

    const PARALLEL: &str = r#"
        [[steps]]
        id = "accept"
        name = "受理"
        kind = "intake"
        post = "a/window"
        next = ["review-a", "review-b"]
        [[steps]]
        id = "review-a"
        name = "审查"
        kind = "review"
        post = "a/review"
        next = ["decide"]
        limit_days = 5
        [[steps]]
        id = "review-b"
        name = "会签"
        kind = "review"
        post = "b/review"
        next = ["decide"]
        [[steps]]
        id = "decide"
        name = "决定"
        kind = "decide"
        post = "a/chief"
        join = true
    "#;

    fn post_name(post: &PostRef) -> String {
        match post.to_string().as_str() {
            "a/window" => "综合受理窗口".to_owned(),
            "a/review" => "市场监管局审查岗".to_owned(),
            "b/review" => "卫健委会签岗".to_owned(),
            "a/chief" => "分管局长".to_owned(),
            other => other.to_owned(),
        }
    }

    fn draw_with(def: &WorkflowDef, names: &dyn Fn(&PostRef) -> String) -> String {
        let labels = DiagramLabels {
            title: "办理流程图",
            deliver: "办结送达",
            working_days: "{n} 个工作日",
            parallel: "并联审批",
            join: "会签汇合",
            commitment: "告知承诺",
            instant: "即办件",
            post_name: names,
        };
        svg(def, &labels)
    }

    /// To look at the drawings: `DIAGRAM_DIR=/tmp cargo test -p yiwang-cases --lib diagram`.
    fn keep(name: &str, svg: &str) {
        if let Some(dir) = std::env::var_os("DIAGRAM_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.svg")), svg).unwrap();
        }
    }

    fn draw(toml: &str) -> String {
        draw_with(&WorkflowDef::from_toml(toml).unwrap(), &post_name)
    }

    fn next_edges(toml: &str) -> usize {
        let def = WorkflowDef::from_toml(toml).unwrap();
        def.steps.iter().map(|s| s.next.len()).sum()
    }

    /// The value of `attr` in the first tag after `data-step="id"`'s group opens: its box's `<rect>`.
    fn box_attr(svg: &str, id: &str, attr: &str) -> i64 {
        let group = svg.find(&format!("data-step=\"{id}\"")).unwrap();
        let rect = group + svg[group..].find("<rect ").unwrap();
        let tag = &svg[rect..rect + svg[rect..].find('>').unwrap()];
        let start = tag.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3;
        let len = tag[start..].find('"').unwrap();
        tag[start..start + len].parse().unwrap()
    }

    /// A tiny XML well-formedness check: balanced tags, quoted attributes, one root, and no raw `<`,
    /// `>` or stray `&` in text or attribute values.
    fn well_formed(xml: &str) -> Result<(), String> {
        fn entities_ok(text: &str) -> bool {
            let mut rest = text;
            while let Some(at) = rest.find('&') {
                rest = &rest[at..];
                let Some(end) = rest.find(';') else {
                    return false;
                };
                let name = &rest[1..end];
                let known = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                    || (name.starts_with('#')
                        && name.len() > 1
                        && name[1..].chars().all(|c| c.is_ascii_alphanumeric()));
                if !known {
                    return false;
                }
                rest = &rest[end..];
            }
            true
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = xml;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                if !rest.trim().is_empty() {
                    return Err(format!("text after the root: {rest:?}"));
                }
                break;
            };
            let text = &rest[..lt];
            if text.contains('>') || !entities_ok(text) {
                return Err(format!("unescaped text {text:?}"));
            }
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            rest = &rest[lt..];
            if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").ok_or("unclosed comment")?;
                rest = &after[end + 3..];
                continue;
            }
            // Find the tag's end, skipping quoted values.
            let mut quote = None;
            let mut end = None;
            for (i, c) in rest.char_indices().skip(1) {
                match (quote, c) {
                    (None, '"' | '\'') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    (None, '<') => return Err("'<' inside a tag".to_owned()),
                    _ => {}
                }
            }
            let end = end.ok_or("unclosed tag")?;
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name.trim() => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = &body[..name_end];
            if name.is_empty() {
                return Err("tag without a name".to_owned());
            }
            // Attributes: name="value", values escaped.
            let mut attrs = body[name_end..].trim_start();
            while !attrs.is_empty() {
                let eq = attrs
                    .find('=')
                    .ok_or(format!("attribute without value in <{name}>"))?;
                let attr = &attrs[..eq];
                if attr.is_empty() || attr.contains(char::is_whitespace) {
                    return Err(format!("bad attribute {attr:?} in <{name}>"));
                }
                let value = attrs[eq + 1..]
                    .strip_prefix('"')
                    .ok_or(format!("unquoted {attr} in <{name}>"))?;
                let close = value.find('"').ok_or("unclosed value")?;
                let v = &value[..close];
                if v.contains('<') || v.contains('>') || !entities_ok(v) {
                    return Err(format!("unescaped value {v:?}"));
                }
                attrs = value[close + 1..].trim_start();
            }
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        match (roots, stack.is_empty()) {
            (1, true) => Ok(()),
            (_, false) => Err(format!("unclosed {stack:?}")),
            _ => Err(format!("{roots} root elements")),
        }
    }

    #[test]
    fn sequential_steps_take_a_row_each() {
        let svg = draw(SEQUENTIAL);
        well_formed(&svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 640 "));
        for text in [
            ">受理</text>",
            ">审查</text>",
            ">决定</text>",
            ">办结送达</text>",
            ">综合受理窗口</text>",
            ">5 个工作日</text>",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert_eq!(
            svg.matches("class=\"edge\"").count(),
            next_edges(SEQUENTIAL) + 1
        );
        assert_eq!(svg.matches("marker-end=").count(), 3);
        assert_eq!(svg.matches("data-delivery=\"true\"").count(), 1);
        let ys: Vec<i64> = ["accept", "review", "decide"]
            .iter()
            .map(|id| box_attr(&svg, id, "y"))
            .collect();
        assert!(ys[0] < ys[1] && ys[1] < ys[2], "{ys:?}");
        // Nothing forks or joins here.
        assert!(!svg.contains("并联审批</text>"));
        assert!(!svg.contains("class=\"join\""));
        // The description reads the steps in order.
        let desc = &svg[svg.find("<desc").unwrap()..svg.find("</desc>").unwrap()];
        let at = |s: &str| desc.find(s).unwrap();
        assert!(at("1. 受理") < at("2. 审查") && at("2. 审查") < at("3. 决定"));
        assert!(at("3. 决定") < at("4. 办结送达 (综合受理窗口)"));
    }

    #[test]
    fn parallel_branches_share_a_row_and_meet_at_the_join() {
        let svg = draw(PARALLEL);
        well_formed(&svg).unwrap();
        for name in ["受理", "审查", "会签", "决定", "办结送达"] {
            assert!(svg.contains(&format!(">{name}</text>")), "{name} missing");
        }
        assert_eq!(next_edges(PARALLEL), 4);
        assert_eq!(svg.matches("class=\"edge\"").count(), 4 + 1);
        let y = |id: &str| box_attr(&svg, id, "y");
        assert_eq!(y("review-a"), y("review-b"));
        assert!(y("accept") < y("review-a"));
        assert!(y("review-a") < y("decide"));
        assert_ne!(
            box_attr(&svg, "review-a", "x"),
            box_attr(&svg, "review-b", "x")
        );
        // The delivery box comes last, below the decision.
        let deliver = svg.find("<g class=\"deliver\"").unwrap();
        let rect = &svg[deliver..];
        let dy: i64 = rect[rect.find(" y=\"").unwrap() + 4..]
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(dy > y("decide"));
        assert!(svg.contains(">并联审批</text>"));
        assert_eq!(svg.matches("class=\"join\"").count(), 1);
        assert!(svg.contains(">会签汇合</text>"));
        let desc = &svg[svg.find("<desc").unwrap()..svg.find("</desc>").unwrap()];
        assert!(
            desc.contains("2. 并联审批: 审查 (市场监管局审查岗, 5 个工作日); 会签 (卫健委会签岗)")
        );
        keep("parallel", &svg);
    }

    #[test]
    fn every_text_is_escaped() {
        let toml = PARALLEL.replace("name = \"会签\"", "name = \"A&B<C>\"");
        let def = WorkflowDef::from_toml(&toml).unwrap();
        let svg = draw_with(&def, &|p: &PostRef| format!("O'Brien \"{}\" & co", p.post));
        well_formed(&svg).unwrap();
        assert!(svg.contains(">A&amp;B&lt;C&gt;</text>"));
        assert!(!svg.contains("A&B"));
        assert!(!svg.contains("<C>"));
        assert!(svg.contains("O&apos;Brien &quot;review&quot; &amp; co"));
        assert!(!svg.contains("O'Brien"));
        // Control characters XML cannot hold are dropped.
        assert_eq!(escape("a\u{1}b\u{ffff}"), "ab");
    }

    #[test]
    fn the_same_definition_gives_the_same_drawing() {
        assert_eq!(draw(PARALLEL), draw(PARALLEL));
        assert_ne!(draw(PARALLEL), draw(SEQUENTIAL));
        // Different definitions on one page do not share ids.
        let id = |svg: &str| {
            svg[svg.find("<title id=\"").unwrap()..]
                .split('"')
                .nth(1)
                .unwrap()
                .to_owned()
        };
        assert_ne!(id(&draw(PARALLEL)), id(&draw(SEQUENTIAL)));
    }

    #[test]
    fn an_instant_workflow_delivers_from_its_only_step() {
        let instant = "instant = true\n[[steps]]\nid = \"accept\"\nname = \"受理即办\"\nkind = \"intake\"\npost = \"a/window\"\n";
        let svg = draw(instant);
        keep("instant", &svg);
        well_formed(&svg).unwrap();
        assert!(svg.contains(">即办件</text>"));
        assert!(svg.contains(">受理即办</text>"));
        assert_eq!(svg.matches("class=\"edge\"").count(), 1);
        assert!(svg.contains("class=\"edge\" data-from=\"accept\" data-delivery=\"true\""));
    }

    #[test]
    fn a_commitment_workflow_shows_its_badge() {
        let toml = format!(
            "[commitment]\nstatement = \"本人承诺\"\nverify_post = \"c/check\"\nverify_within_days = 20\n{PARALLEL}"
        );
        let svg = draw(&toml);
        keep("commitment", &svg);
        well_formed(&svg).unwrap();
        assert!(svg.contains(">告知承诺</text>"));
        assert!(svg.contains("<title>告知承诺: c/check, 20 个工作日</title>"));
        // The badge row pushes the boxes down.
        let plain = draw(PARALLEL);
        assert!(box_attr(&svg, "accept", "y") > box_attr(&plain, "accept", "y"));
    }

    #[test]
    fn edges_skipping_a_row_go_round_its_boxes() {
        // accept leads to a review and straight to the decision; the review goes through a check.
        let toml = r#"
            [[steps]]
            id = "accept"
            name = "受理"
            kind = "intake"
            post = "a/window"
            next = ["review", "decide"]
            [[steps]]
            id = "review"
            name = "审查"
            kind = "review"
            post = "a/review"
            next = ["check"]
            [[steps]]
            id = "check"
            name = "现场核查"
            kind = "review"
            post = "c/check"
            next = ["decide"]
            [[steps]]
            id = "decide"
            name = "决定"
            kind = "decide"
            post = "a/chief"
            join = true
        "#;
        let svg = draw(toml);
        keep("skip", &svg);
        well_formed(&svg).unwrap();
        assert_eq!(svg.matches("class=\"edge\"").count(), next_edges(toml) + 1);
        let y = |id: &str| box_attr(&svg, id, "y");
        assert!(y("accept") < y("review") && y("review") < y("check") && y("check") < y("decide"));
        // The long edge's vertical run passes beside the boxes of the rows it skips.
        let at = svg
            .find("data-from=\"accept\" data-to=\"decide\" d=\"")
            .unwrap();
        let d = svg[at..].split('"').nth(5).unwrap();
        let lane: i64 = d
            .split('H')
            .nth(1)
            .unwrap()
            .split('V')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for id in ["review", "check"] {
            let (x, w) = (box_attr(&svg, id, "x"), box_attr(&svg, id, "width"));
            assert!(lane < x || lane > x + w, "lane {lane} crosses {id} ({d})");
        }
    }

    #[test]
    fn long_names_are_shortened_to_fit() {
        let long = "食品经营许可证核发现场核查与整改复查意见汇总";
        let toml = PARALLEL.replace("name = \"审查\"", &format!("name = \"{long}\""));
        let svg = draw(&toml);
        keep("long", &svg);
        well_formed(&svg).unwrap();
        assert!(!svg.contains(&format!(">{long}</text>")));
        assert!(
            svg.contains(&format!("<title>{long} · ")),
            "full name kept in the tooltip"
        );
        let shown = fit(long, 240 - 2 * TEXT_PAD, NAME_PX + 1);
        assert!(shown.ends_with('…'));
        assert!(text_px(&shown, NAME_PX + 1) <= 240 - 2 * TEXT_PAD);
        assert!(svg.contains(&format!(">{shown}</text>")));
        assert_eq!(fit("short", 200, 12), "short");
        assert_eq!(text_px("受理", 10), 20);
        assert_eq!(text_px("ab", 100), 110);
    }
}
