//! Duplicate detection: character-bigram Jaccard similarity of two texts, which needs no word
//! segmentation and works the same on Chinese and on Latin text.

use std::collections::BTreeSet;

/// The character bigrams of `text`, ignoring whitespace and punctuation (a text of one
/// character is its own single "bigram").
pub fn bigrams(text: &str) -> BTreeSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match chars.as_slice() {
        [] => BTreeSet::new(),
        [one] => BTreeSet::from([(*one, *one)]),
        _ => chars.windows(2).map(|w| (w[0], w[1])).collect(),
    }
}

/// |A ∩ B| / |A ∪ B| of the bigram sets, in 0.0–1.0; two empty texts are not similar (0.0).
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (a, b) = (bigrams(a), bigrams(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_complaint_in_other_words_is_similar() {
        let a = "小区门口垃圾堆放三天无人清运，气味很大";
        let b = "小区门口垃圾堆放了三天无人清运，气味很大";
        let c = "路灯不亮，晚上出行不便";
        assert!(jaccard(a, b) >= 0.5, "{}", jaccard(a, b));
        assert!(jaccard(a, c) < 0.1, "{}", jaccard(a, c));
        assert!((jaccard(a, a) - 1.0).abs() < f64::EPSILON);
        assert!(jaccard("", "").abs() < f64::EPSILON);
        // Punctuation and spaces do not count.
        assert!((jaccard("路灯 不亮！", "路灯不亮") - 1.0).abs() < f64::EPSILON);
    }

    proptest! {
        #[test]
        fn symmetric_and_bounded(a in "\\PC{0,30}", b in "\\PC{0,30}") {
            let ab = jaccard(&a, &b);
            prop_assert!((0.0..=1.0).contains(&ab));
            prop_assert!((ab - jaccard(&b, &a)).abs() < 1e-12);
        }
    }
}
