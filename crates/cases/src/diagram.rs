//! The layout of a workflow diagram: which steps share a row, where each box sits, and the edges
//! between them. The drawing (texts, colours, arrows as SVG) belongs to the web layer's
//! presentation; the positions follow from the workflow's structure and stay here with it.
//!
//! The steps are placed top to bottom in the layers of [`WorkflowDef::layers`] (steps of one layer
//! run side by side, under the mean of the steps leading to them so arrows do not cross), then the
//! implied last box: the intake post delivers the result (办结送达). Units are those of a viewBox
//! [`WIDTH`] wide; the same definition always gives the same layout.

use std::collections::HashMap;

use crate::workflow::WorkflowDef;

// Geometry, in viewBox units.
pub const WIDTH: i64 = 640;
pub const MARGIN: i64 = 24;
pub const BOX_GAP: i64 = 24;
pub const BOX_MAX_W: i64 = 240;
pub const BOX_H: i64 = 76;
pub const ROW_GAP: i64 = 72;
/// The first row's top without, and with, a row of badges (instant, commitment) above it.
pub const TOP_PLAIN: i64 = 16;
pub const TOP_BADGES: i64 = 52;
pub const BOTTOM: i64 = 16;

/// A box's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub row: usize,
}

impl Node {
    pub fn cx(self) -> i64 {
        self.x + self.w / 2
    }

    pub fn bottom(self) -> i64 {
        self.y + BOX_H
    }
}

/// Where every box of a definition goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// One per step (in definition order), then the delivery box; `None` for a box not placed.
    pub nodes: Vec<Option<Node>>,
    /// `next` edges between node indexes, and the edge into the delivery box.
    pub edges: Vec<(usize, usize)>,
    /// The node indexes of each row, left to right.
    pub order: Vec<Vec<usize>>,
    /// The delivery box's node index (after the steps).
    pub deliver: usize,
    /// The first row's top.
    pub top: i64,
    /// The whole diagram's height.
    pub height: i64,
}

/// A count as a coordinate factor.
pub fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX / 4)
}

/// The definition shows badges above its steps (instant or on commitment).
pub fn has_badges(def: &WorkflowDef) -> bool {
    def.instant || def.commitment.is_some()
}

/// Lay `def` out.
pub fn layout(def: &WorkflowDef) -> Layout {
    let n = def.steps.len();
    let deliver = n; // The delivery box's node index, after the steps.
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, step) in def.steps.iter().enumerate() {
        first_index.entry(step.id.as_str()).or_insert(i);
    }
    let layers: Vec<Vec<usize>> = def
        .layers()
        .iter()
        .map(|layer| {
            layer
                .iter()
                .filter_map(|s| def.steps.iter().position(|t| std::ptr::eq(t, *s)))
                .collect()
        })
        .collect();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, step) in def.steps.iter().enumerate() {
        for next in &step.next {
            if let Some(&j) = first_index.get(next.as_str()) {
                edges.push((i, j));
            }
        }
    }
    let delivery_from = if def.instant {
        def.intake().or(def.steps.first())
    } else {
        def.decide()
    }
    .and_then(|s| first_index.get(s.id.as_str()).copied());
    if let Some(from) = delivery_from {
        edges.push((from, deliver));
    }

    // Rows: one per layer, then the delivery box.
    let top = if has_badges(def) {
        TOP_BADGES
    } else {
        TOP_PLAIN
    };
    let mut nodes: Vec<Option<Node>> = vec![None; n + 1];
    let mut order: Vec<Vec<usize>> = Vec::new();
    for (row, layer) in layers.iter().enumerate() {
        let mut layer = layer.clone();
        if row > 0 {
            // Under the mean of the steps leading to them, to keep the arrows from crossing.
            layer.sort_by_key(|&j| {
                let xs: Vec<i64> = edges
                    .iter()
                    .filter(|&&(_, to)| to == j)
                    .filter_map(|&(from, _)| nodes[from].map(Node::cx))
                    .collect();
                if xs.is_empty() {
                    i64::MAX
                } else {
                    xs.iter().sum::<i64>() / int(xs.len())
                }
            });
        }
        place_row(&mut nodes, &layer, row, top);
        order.push(layer);
    }
    if delivery_from.is_some() {
        place_row(&mut nodes, &[deliver], order.len(), top);
        order.push(vec![deliver]);
    }
    let rows = int(order.len());
    let height = top + rows * BOX_H + (rows - 1).max(0) * ROW_GAP + BOTTOM;

    Layout {
        nodes,
        edges,
        order,
        deliver,
        top,
        height,
    }
}

/// Lay the boxes of one row side by side, centred.
fn place_row(nodes: &mut [Option<Node>], members: &[usize], row: usize, top: i64) {
    let count = int(members.len()).max(1);
    let w = ((WIDTH - 2 * MARGIN - (count - 1) * BOX_GAP) / count).min(BOX_MAX_W);
    let total = count * w + (count - 1) * BOX_GAP;
    let x0 = (WIDTH - total) / 2;
    let y = top + int(row) * (BOX_H + ROW_GAP);
    for (k, &member) in members.iter().enumerate() {
        if let Some(slot) = nodes.get_mut(member) {
            *slot = Some(Node {
                x: x0 + int(k) * (w + BOX_GAP),
                y,
                w,
                row,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARALLEL: &str = r#"
        [[steps]]
        id = "accept"
        name = "受理"
        kind = "intake"
        post = "a/window"
        next = ["left", "right"]
        [[steps]]
        id = "left"
        name = "审查甲"
        kind = "review"
        post = "a/review"
        next = ["decide"]
        [[steps]]
        id = "right"
        name = "审查乙"
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

    #[test]
    fn parallel_steps_share_a_row_and_delivery_comes_last() {
        let def = WorkflowDef::from_toml(PARALLEL).unwrap();
        let l = layout(&def);
        assert_eq!(l.order, vec![vec![0], vec![1, 2], vec![3], vec![4]]);
        assert_eq!(l.deliver, 4);
        let (left, right) = (l.nodes[1].unwrap(), l.nodes[2].unwrap());
        assert_eq!(left.y, right.y);
        assert!(left.x + left.w + BOX_GAP <= right.x);
        assert!(l.edges.contains(&(3, 4)));
        assert_eq!(l.top, TOP_PLAIN);
        let last = l.nodes[4].unwrap();
        assert_eq!(l.height, last.bottom() + BOTTOM);
        // The same definition always gives the same layout.
        assert_eq!(layout(&def), l);
    }

    #[test]
    fn boxes_stay_inside_the_width() {
        let def = WorkflowDef::from_toml(PARALLEL).unwrap();
        for node in layout(&def).nodes.into_iter().flatten() {
            assert!(node.x >= MARGIN && node.x + node.w <= WIDTH - MARGIN);
            assert!(node.w <= BOX_MAX_W);
        }
    }
}
