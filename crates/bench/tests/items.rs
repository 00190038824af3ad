//! The generated catalog: every record valid and its implementation code unique, real items first.

use std::collections::HashSet;

use yiwang_bench::items::{Generator, demo_items};
use yiwang_catalog::transfer::{Format, parse, record_problems};

#[test]
fn fifty_thousand_valid_items_with_unique_codes() {
    let generator = Generator::demo().unwrap();
    let real = demo_items().unwrap();
    assert_eq!(generator.real_items(), real.len());
    assert_eq!(generator.record(0), real[0]);
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for k in 0..50_000 {
        let record = generator.record(k);
        let problems = record_problems(k + 1, &record);
        assert!(problems.is_empty(), "record {k}: {problems:?}");
        assert_eq!(
            record.impl_code.len(),
            36,
            "record {k}: {}",
            record.impl_code
        );
        assert!(
            codes.insert(record.impl_code.clone()),
            "record {k}: code repeated"
        );
        names.insert(record.content.name);
    }
    assert!(names.len() > 40_000, "only {} distinct names", names.len());
    assert!(names.contains("蜀山区食品经营许可（新办）"));
}

#[test]
fn batches_parse_as_import_files() {
    let generator = Generator::demo().unwrap();
    let file = generator.json_batch(100..300).unwrap();
    let rows = parse(Format::Json, &file).unwrap();
    assert_eq!(rows.len(), 200);
    for (i, row) in rows.into_iter().enumerate() {
        assert_eq!(row.unwrap(), generator.record(100 + i));
    }
}
