//! Line breaking for mixed Chinese and Latin text: a break is allowed between any two CJK
//! characters and at spaces; Latin words stay whole unless a word alone is wider than the line.
//! Closing punctuation never starts a line (it hangs into the margin instead, as Chinese
//! typesetting allows) and opening punctuation never ends one.

use crate::font::Font;

/// One laid-out line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    /// Natural width in points.
    pub width: f32,
    /// Whether the line was broken (not the last of its paragraph), so it may be justified.
    pub broken: bool,
    /// Whether this is the first line of a hard line (the one that carries the indent).
    pub first: bool,
}

/// Characters that may not begin a line (行首禁则).
fn no_line_start(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '》'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〉'
            | '”'
            | '’'
            | '…'
            | '—'
            | '·'
            | '%'
            | '％'
            | ','
            | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
            | '}'
    )
}

/// Characters that may not end a line (行尾禁则).
fn no_line_end(c: char) -> bool {
    matches!(
        c,
        '（' | '《' | '「' | '『' | '【' | '〔' | '〈' | '“' | '‘' | '(' | '[' | '{'
    )
}

/// Whether `c` forms a token of its own (CJK and full-width characters break anywhere).
fn breaks_anywhere(c: char) -> bool {
    let u = u32::from(c);
    (0x2E80..=0x9FFF).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFFEF).contains(&u)
        || (0x20000..=0x3FFFF).contains(&u)
        || (0x2000..=0x206F).contains(&u)
}

/// Splits a hard line into tokens: single CJK characters, runs of other non-space characters
/// (words), and single spaces.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let alone = breaks_anywhere(c) || c == ' ';
        if alone {
            if let Some(s) = start.take() {
                out.push(&text[s..i]);
            }
            out.push(&text[i..i + c.len_utf8()]);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Wraps `text` (hard breaks at `\n`) into lines no wider than `width` points at `size`;
/// the first line of each hard line is `indent` points narrower.
pub(crate) fn wrap(font: &Font, text: &str, size: f32, width: f32, indent: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    for hard in text.split('\n') {
        let start = lines.len();
        let mut current = String::new();
        let mut current_width = 0.0_f32;
        let mut avail = (width - indent).max(size);
        let push = |lines: &mut Vec<Line>, current: &mut String, current_width: &mut f32| {
            let text = current.trim_end().to_owned();
            let w = font.width(&text, size);
            lines.push(Line {
                text,
                width: w,
                broken: true,
                first: false,
            });
            current.clear();
            *current_width = 0.0;
        };
        for token in tokens(hard) {
            let w = font.width(token, size);
            if current_width + w <= avail + 0.01 {
                current.push_str(token);
                current_width += w;
                continue;
            }
            if token == " " {
                push(&mut lines, &mut current, &mut current_width);
                avail = width.max(size);
                continue;
            }
            let first = token.chars().next().unwrap_or(' ');
            if !current.is_empty() && token.chars().count() == 1 && no_line_start(first) {
                // Hanging punctuation: keep it on this line even past the margin.
                current.push_str(token);
                push(&mut lines, &mut current, &mut current_width);
                avail = width.max(size);
                continue;
            }
            if !current.is_empty() {
                // Do not leave an opening bracket at the end of the line.
                let mut carry = String::new();
                while let Some(last) = current.chars().last() {
                    if no_line_end(last) && current.chars().count() > 1 {
                        current.pop();
                        carry.insert(0, last);
                    } else {
                        break;
                    }
                }
                push(&mut lines, &mut current, &mut current_width);
                avail = width.max(size);
                current.push_str(&carry);
                current_width = font.width(&current, size);
            }
            if current_width + w <= avail + 0.01 {
                current.push_str(token);
                current_width += w;
            } else {
                // A word wider than the line: break it between characters.
                for c in token.chars() {
                    let cw = font.advance(c) * size;
                    if current_width + cw > avail + 0.01 && !current.is_empty() {
                        push(&mut lines, &mut current, &mut current_width);
                        avail = width.max(size);
                    }
                    current.push(c);
                    current_width += cw;
                }
            }
        }
        let text = current.trim_end().to_owned();
        let w = font.width(&text, size);
        lines.push(Line {
            text,
            width: w,
            broken: false,
            first: false,
        });
        lines[start].first = true;
        // Leading spaces of continuation lines are dropped.
        for line in &mut lines[start + 1..] {
            if line.text.starts_with(' ') {
                line.text = line.text.trim_start().to_owned();
                line.width = font.width(&line.text, size);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::font;

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn cjk_breaks_anywhere_and_respects_the_width() {
        let f = font().unwrap();
        let lines = wrap(
            f,
            "热食类食品制售冷食类食品制售生食类食品制售",
            10.0,
            70.0,
            0.0,
        );
        assert_eq!(
            texts(&lines),
            ["热食类食品制售", "冷食类食品制售", "生食类食品制售"]
        );
        assert!(lines[0].broken && lines[1].broken && !lines[2].broken);
        assert!(lines.iter().all(|l| l.width <= 70.01));
    }

    #[test]
    fn latin_words_stay_whole_and_long_words_split() {
        let f = font().unwrap();
        let lines = wrap(f, "Yiwang government services platform", 10.0, 80.0, 0.0);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(!l.text.starts_with(' ') && !l.text.ends_with(' '));
            assert!(l.width <= 80.01, "{l:?}");
        }
        assert_eq!(
            lines
                .iter()
                .map(|l| l.text.clone())
                .collect::<Vec<_>>()
                .join(" "),
            "Yiwang government services platform"
        );
        let id = "1.2.156.3005.2.11100000MB0000000X.0001.1.K";
        let lines = wrap(f, id, 10.0, 60.0, 0.0);
        assert!(lines.len() > 2);
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<String>(),
            id
        );
    }

    #[test]
    fn punctuation_rules() {
        let f = font().unwrap();
        // Seven characters fit; the comma would start line two, so it hangs on line one.
        let lines = wrap(f, "一二三四五六七，八九", 10.0, 70.0, 0.0);
        assert_eq!(texts(&lines), ["一二三四五六七，", "八九"]);
        // An opening bracket moves to the next line with what it opens.
        let lines = wrap(f, "一二三四五六《八九》", 10.0, 70.0, 0.0);
        assert_eq!(texts(&lines), ["一二三四五六", "《八九》"]);
    }

    #[test]
    fn hard_breaks_and_indent() {
        let f = font().unwrap();
        let lines = wrap(f, "一二三四五\n六", 10.0, 50.0, 20.0);
        assert_eq!(texts(&lines), ["一二三", "四五", "六"]);
        assert!(!lines[1].broken && !lines[2].broken);
        let first: Vec<bool> = lines.iter().map(|l| l.first).collect();
        assert_eq!(first, [true, false, true]);
    }
}
