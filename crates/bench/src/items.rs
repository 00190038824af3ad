//! A large catalog made from the demo items (`yiwang_demo::catalog::CATALOG_ITEMS`): the real items
//! first, then variants of them as a city's catalog really repeats items — per district or street
//! (蜀山区…, 笔架山街道…), per stage (（新办）（变更）（延续）（注销）（补办）) and per way of handling
//! (（告知承诺制）（跨省通办）…). Each variant keeps its source's department and every other field, and
//! gets a new implementation code of 36 digits and capital letters, unique across the catalog.

use std::collections::HashMap;

use anyhow::Context;
use yiwang_catalog::model::ItemRecord;

/// The demo catalog, in the import format.
const DEMO_ITEMS: &str = yiwang_demo::catalog::CATALOG_ITEMS;

/// Stages of a licence; only for names that do not already name one in brackets.
const STAGES: &[&str] = &[
    "",
    "（新办）",
    "（变更）",
    "（延续）",
    "（注销）",
    "（补办）",
];
/// Ways of handling, for every name.
const MODES: &[&str] = &[
    "",
    "（告知承诺制）",
    "（跨省通办）",
    "（全程网办）",
    "（帮办代办）",
];

/// The demo items as records.
pub fn demo_items() -> anyhow::Result<Vec<ItemRecord>> {
    serde_json::from_str(DEMO_ITEMS).context("the demo catalog items.json is not valid")
}

/// Makes the `k`-th record of a catalog of any size.
#[derive(Debug, Clone)]
pub struct Generator {
    sources: Vec<Source>,
}

#[derive(Debug, Clone)]
struct Source {
    record: ItemRecord,
    /// The department's region code (6 digits), part of the variants' codes.
    region: String,
    /// Districts and streets of the department's city, each a possible name prefix ("" first).
    places: Vec<String>,
    stages: &'static [&'static str],
}

impl Source {
    fn combinations(&self) -> usize {
        self.places.len() * self.stages.len() * MODES.len()
    }
}

impl Generator {
    /// A generator over the demo items and the demo organisation.
    pub fn demo() -> anyhow::Result<Self> {
        Self::new(demo_items()?, &yiwang_demo::org_data()?)
    }

    pub fn new(items: Vec<ItemRecord>, org: &yiwang_identity::OrgData) -> anyhow::Result<Self> {
        anyhow::ensure!(!items.is_empty(), "no source items");
        let department_regions: HashMap<&str, &str> = org
            .departments
            .iter()
            .map(|d| (d.code.as_str(), d.region.as_str()))
            .collect();
        let mut sources = Vec::with_capacity(items.len());
        for record in items {
            let region = department_regions
                .get(record.department.as_str())
                .with_context(|| {
                    format!(
                        "item {} names an unknown department {}",
                        record.impl_code, record.department
                    )
                })?
                .to_string();
            let city = region.get(..4).unwrap_or(&region);
            let mut places = vec![String::new()];
            places.extend(
                org.regions
                    .iter()
                    .filter(|r| {
                        r.code.starts_with(city)
                            && matches!(r.level.as_str(), "district" | "street")
                    })
                    .map(|r| r.name.clone()),
            );
            let stages: &'static [&'static str] = if record.content.name.ends_with('）') {
                &STAGES[..1]
            } else {
                STAGES
            };
            sources.push(Source {
                record,
                region: format!("{region:0>6}"),
                places,
                stages,
            });
        }
        Ok(Self { sources })
    }

    /// The number of real items (records `0..n` are the real items, unchanged).
    pub fn real_items(&self) -> usize {
        self.sources.len()
    }

    /// The `k`-th record: a real item, then variants of each in turn.
    pub fn record(&self, k: usize) -> ItemRecord {
        let n = self.sources.len();
        if k < n {
            return self.sources[k].record.clone();
        }
        let source = &self.sources[(k - n) % n];
        let combos = source.combinations();
        // Combination 0 is the real name; variants take 1.. and wrap round when there are more.
        let combo = 1 + ((k - n) / n) % (combos - 1).max(1);
        let place = &source.places[combo % source.places.len()];
        let rest = combo / source.places.len();
        let stage = source.stages[rest % source.stages.len()];
        let mode = MODES[(rest / source.stages.len()) % MODES.len()];
        let mut record = source.record.clone();
        record.content.name = format!("{place}{}{stage}{mode}", record.content.name);
        record.impl_code = format!("{}{}BN{k:016}", record.content.base_code, source.region);
        record
    }

    /// Records `range` as a JSON import file.
    pub fn json_batch(&self, range: std::ops::Range<usize>) -> anyhow::Result<Vec<u8>> {
        let records: Vec<ItemRecord> = range.map(|k| self.record(k)).collect();
        serde_json::to_vec(&records).context("cannot write the import file")
    }
}
