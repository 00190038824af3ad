//! Chinese full-text search over the items in effect: tantivy with jieba segmentation, pinyin full
//! spelling and initials ("jhdj" finds 结婚登记), colloquial synonyms ("开饭店" finds 食品经营许可) and
//! filters. The index lives in memory on each node: built from the database at start and kept fresh
//! when items change (see `service::Catalog::catch_up_index`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use jieba_rs::Jieba;
use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    LowerCaser, SimpleTokenizer, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};
use yiwang_kernel::{Page, PageRequest, TimeLimit};

use crate::CatalogError;
use crate::model::{AdminLevel, AudienceType, ItemContent, ItemKind, ItemStatus};
use crate::repo::CurrentItem;

/// Colloquial phrases and the official wording they mean, as data.
const SYNONYMS: &str = include_str!("../data/synonyms.toml");

/// Longest query text considered; longer input is cut.
pub const MAX_QUERY_CHARS: usize = 100;

fn jieba() -> &'static Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut jieba = Jieba::new();
        // Words of government services the general dictionary splits or lacks.
        for word in [
            "公积金",
            "低保",
            "个体户",
            "营业执照",
            "居住证",
            "身份证",
            "不动产",
            "出生医学证明",
            "社保卡",
            "医保",
            "一件事",
            "告知承诺",
            "结婚登记",
            "离婚登记",
            "户口",
            "签注",
            "网约车",
        ] {
            jieba.add_word(word, None, None);
        }
        Arc::new(jieba)
    })
}

/// jieba search-mode segmentation as a tantivy tokenizer; punctuation and spaces are dropped.
#[derive(Clone)]
struct JiebaTokenizer;

struct WordStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let tokens = jieba()
            .cut_for_search(text, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position,
                text: t.word.to_lowercase(),
                position_length: 1,
            })
            .collect();
        WordStream { tokens, index: 0 }
    }
}

/// Words of a query, as the index's tokenizer makes them.
fn words_for_search(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    jieba()
        .cut_for_search(text, true)
        .into_iter()
        .map(|t| t.word.to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric) && seen.insert(w.clone()))
        .collect()
}

/// Coarse words of a phrase (jieba's default mode): every one must appear for a phrase match.
fn words_of_phrase(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    jieba()
        .cut(text, true)
        .into_iter()
        .map(|t| t.word.to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric) && seen.insert(w.clone()))
        .collect()
}

/// Items with at least half of `words` (rounded up), each word found in any of `fields`. Single
/// characters (了, 的, 我…) do not count unless the query is nothing else.
fn coverage(fields: &[Field], words: &[String]) -> Option<(Occur, Box<dyn Query>)> {
    let meaningful: Vec<&String> = words.iter().filter(|w| w.chars().count() > 1).collect();
    let words: Vec<&String> = if meaningful.is_empty() {
        words.iter().collect()
    } else {
        meaningful
    };
    if words.is_empty() {
        return None;
    }
    let per_word: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .map(|w| {
            let any_field: Vec<(Occur, Box<dyn Query>)> = fields
                .iter()
                .map(|field| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(*field, w),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            (
                Occur::Should,
                Box::new(BooleanQuery::new(any_field)) as Box<dyn Query>,
            )
        })
        .collect();
    let needed = words.len().div_ceil(2);
    Some((
        Occur::Should,
        Box::new(BooleanQuery::with_minimum_required_clauses(
            per_word, needed,
        )),
    ))
}

/// Pinyin of a text: for each character with a reading (or an ASCII letter or digit), its position,
/// full spelling and initial.
fn syllables(text: &str) -> Vec<(usize, String, char)> {
    let mut out = Vec::new();
    for (i, (ch, py)) in text.chars().zip(text.to_pinyin()).enumerate() {
        if let Some(py) = py {
            let full = py.plain().to_owned();
            let initial = full.chars().next().unwrap_or('x');
            out.push((i, full, initial));
        } else if ch.is_ascii_alphanumeric() {
            let lower = ch.to_ascii_lowercase();
            out.push((i, lower.to_string(), lower));
        }
    }
    out
}

/// Where words start in a text (character positions), fine-grained as search mode cuts them.
fn word_starts(text: &str) -> Vec<usize> {
    let mut starts: Vec<usize> = jieba()
        .cut_for_search(text, false)
        .into_iter()
        .filter(|t| t.word.chars().any(char::is_alphanumeric))
        .map(|t| t.start)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Longest full-spelling and initials prefixes indexed.
const MAX_FULL_PREFIX: usize = 24;
const MAX_INITIALS_PREFIX: usize = 12;
/// Word starts from which prefixes are indexed (so "dengji" finds 婚姻登记 too).
const MAX_WORD_STARTS: usize = 8;

/// Pinyin tokens of a name: prefixes (two letters and more) of the full spelling and of the initials,
/// starting at each of the first words.
fn pinyin_tokens(name: &str) -> String {
    let all = syllables(name);
    let mut tokens: HashSet<String> = HashSet::new();
    for start in word_starts(name).into_iter().take(MAX_WORD_STARTS) {
        let rest = all.iter().filter(|(i, _, _)| *i >= start);
        let full: String = rest.clone().map(|(_, s, _)| s.as_str()).collect();
        let initials: String = rest.map(|(_, _, c)| *c).collect();
        for (text, max) in [(&full, MAX_FULL_PREFIX), (&initials, MAX_INITIALS_PREFIX)] {
            let chars: Vec<char> = text.chars().collect();
            for len in 2..=chars.len().min(max) {
                tokens.insert(chars[..len].iter().collect());
            }
        }
    }
    let mut tokens: Vec<String> = tokens.into_iter().collect();
    tokens.sort();
    tokens.join(" ")
}

/// A sort key from the name's pinyin: lists without a query are in pinyin order (as Chinese readers
/// expect an index to be).
fn sort_key(name: &str) -> u64 {
    let letters = syllables(name)
        .into_iter()
        .flat_map(|(_, s, _)| s.chars().collect::<Vec<_>>());
    let mut key: u64 = 0;
    let mut taken = 0;
    for c in letters.take(13) {
        let v = if c.is_ascii_lowercase() {
            u64::from(c as u8 - b'a') + 1
        } else {
            0
        };
        key = key * 27 + v;
        taken += 1;
    }
    for _ in taken..13 {
        key *= 27;
    }
    key
}

/// Normalised pinyin input: lowercase letters only, or None when the text is not pinyin.
fn as_pinyin(text: &str) -> Option<String> {
    let letters: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\'' | '’'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (letters.len() >= 2 && letters.bytes().all(|b| b.is_ascii_lowercase()))
        .then(|| letters.chars().take(MAX_FULL_PREFIX).collect())
}

#[derive(Debug, Deserialize)]
struct SynonymFile {
    rule: Vec<SynonymRule>,
}

#[derive(Debug, Clone, Deserialize)]
struct SynonymRule {
    /// What people type.
    says: Vec<String>,
    /// What the catalog calls it.
    means: Vec<String>,
}

fn synonyms() -> &'static [SynonymRule] {
    static RULES: OnceLock<Vec<SynonymRule>> = OnceLock::new();
    RULES.get_or_init(|| match toml::from_str::<SynonymFile>(SYNONYMS) {
        Ok(file) => file.rule,
        Err(error) => {
            tracing::error!(%error, "synonyms file is invalid; searching without synonyms");
            Vec::new()
        }
    })
}

/// The official phrases a query means, from the synonym rules it contains.
pub fn expansions(query: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for rule in synonyms() {
        if rule.says.iter().any(|s| query.contains(s.as_str())) {
            for phrase in &rule.means {
                if !out.contains(&phrase.as_str()) {
                    out.push(phrase.as_str());
                }
            }
        }
    }
    out
}

/// Who a filter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudienceGroup {
    /// 个人: natural persons.
    Person,
    /// 法人: enterprises and other organisations.
    Legal,
}

impl AudienceGroup {
    pub fn code(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Legal => "legal",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "person" => Some(Self::Person),
            "legal" => Some(Self::Legal),
            _ => None,
        }
    }
}

/// A search: optional text, filters and the page wanted.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: String,
    pub audience: Option<AudienceGroup>,
    pub theme: Option<String>,
    pub department: Option<String>,
    pub level: Option<AdminLevel>,
    pub online: Option<bool>,
    pub small_business: bool,
    pub page: PageRequest,
}

/// An item as search results show it, read from the index without touching the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemHit {
    pub id: i64,
    pub impl_code: String,
    pub name: String,
    pub department_code: String,
    pub department: String,
    pub kind: ItemKind,
    pub level: AdminLevel,
    pub audience: Vec<AudienceType>,
    pub themes: Vec<String>,
    pub online: bool,
    pub appointment: bool,
    pub visits: u32,
    pub time_limit: Option<TimeLimit>,
    pub status: ItemStatus,
    /// Relevance (0 when listed without a query).
    #[serde(default)]
    pub score: f32,
}

impl ItemHit {
    fn of(current: &CurrentItem) -> Self {
        let c = &current.content;
        ItemHit {
            id: current.item.id.get(),
            impl_code: current.item.impl_code.clone(),
            name: c.name.clone(),
            department_code: current.item.department_code.clone(),
            department: current.item.department_name.clone(),
            kind: c.kind,
            level: c.level,
            audience: c.audience.clone(),
            themes: c.themes.clone(),
            online: c.is_online(),
            appointment: c.appointment,
            visits: c.visits,
            time_limit: c.effective_limit(),
            status: c.status,
            score: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    name_exact: Field,
    keywords: Field,
    body: Field,
    pinyin: Field,
    audience: Field,
    theme: Field,
    department: Field,
    level: Field,
    online: Field,
    small_business: Field,
    sort_key: Field,
    summary: Field,
}

const JIEBA: &str = "jieba";
const PINYIN: &str = "pinyin";

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fields = Fields {
        id: b.add_i64_field("id", INDEXED | FAST),
        name: b.add_text_field("name", text(JIEBA)),
        name_exact: b.add_text_field("name_exact", STRING),
        keywords: b.add_text_field("keywords", text(JIEBA)),
        body: b.add_text_field("body", text(JIEBA)),
        pinyin: b.add_text_field("pinyin", text(PINYIN)),
        audience: b.add_text_field("audience", STRING),
        theme: b.add_text_field("theme", STRING),
        department: b.add_text_field("department", STRING),
        level: b.add_text_field("level", STRING),
        online: b.add_text_field("online", STRING),
        small_business: b.add_text_field("small_business", STRING),
        sort_key: b.add_u64_field("sort_key", FAST),
        summary: b.add_text_field("summary", STORED),
    };
    (b.build(), fields)
}

/// The in-memory search index of one node.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.len())
            .finish()
    }
}

/// Memory the index writer may buffer before flushing a segment.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

impl SearchIndex {
    /// An empty index.
    pub fn new() -> Result<Self, CatalogError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(JIEBA, TextAnalyzer::builder(JiebaTokenizer).build());
        index.tokenizers().register(
            PINYIN,
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// Items in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn document(&self, current: &CurrentItem) -> Result<TantivyDocument, CatalogError> {
        let f = self.fields;
        let c: &ItemContent = &current.content;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, current.item.id.get());
        doc.add_text(f.name, &c.name);
        if !c.short_name.is_empty() && c.short_name != c.name {
            doc.add_text(f.name, &c.short_name);
        }
        doc.add_text(f.name_exact, c.name.to_lowercase());
        doc.add_text(f.keywords, c.keywords.join(" "));
        doc.add_text(f.keywords, &c.result);
        let materials: Vec<&str> = c.materials.iter().map(|m| m.name.as_str()).collect();
        doc.add_text(
            f.body,
            format!(
                "{} {} {} {}",
                current.item.department_name,
                c.conditions,
                materials.join(" "),
                c.faq
                    .iter()
                    .map(|q| q.q.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
        doc.add_text(f.pinyin, pinyin_tokens(&c.name));
        for keyword in &c.keywords {
            doc.add_text(f.pinyin, pinyin_tokens(keyword));
        }
        for a in &c.audience {
            doc.add_text(f.audience, a.code());
        }
        if c.serves_persons() {
            doc.add_text(f.audience, AudienceGroup::Person.code());
        }
        if c.serves_legal_persons() {
            doc.add_text(f.audience, AudienceGroup::Legal.code());
        }
        for t in &c.themes {
            doc.add_text(f.theme, t);
        }
        doc.add_text(f.department, &current.item.department_code);
        doc.add_text(f.level, c.level.code());
        doc.add_text(f.online, if c.is_online() { "1" } else { "0" });
        doc.add_text(f.small_business, if c.small_business { "1" } else { "0" });
        doc.add_u64(f.sort_key, sort_key(&c.name));
        let summary = serde_json::to_string(&ItemHit::of(current))
            .map_err(|e| CatalogError::Index(e.to_string()))?;
        doc.add_text(f.summary, summary);
        Ok(doc)
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, CatalogError> {
        self.writer
            .lock()
            .map_err(|_| CatalogError::Index("index writer poisoned".to_owned()))
    }

    /// Replace the whole index with these items.
    pub fn rebuild(&self, items: &[CurrentItem]) -> Result<(), CatalogError> {
        let mut writer = self.writer()?;
        writer.delete_all_documents()?;
        for item in items
            .iter()
            .filter(|i| i.content.status != ItemStatus::Cancelled)
        {
            writer.add_document(self.document(item)?)?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Put these items (their version in effect) into the index, replacing what it had for them;
    /// cancelled items leave it. `removed` are items that no longer have a version in effect.
    pub fn update(&self, items: &[CurrentItem], removed: &[i64]) -> Result<(), CatalogError> {
        if items.is_empty() && removed.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer()?;
        for id in removed {
            writer.delete_term(Term::from_field_i64(self.fields.id, *id));
        }
        for item in items {
            writer.delete_term(Term::from_field_i64(self.fields.id, item.item.id.get()));
            if item.content.status != ItemStatus::Cancelled {
                writer.add_document(self.document(item)?)?;
            }
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn filters(&self, params: &SearchParams) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let term = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            )
        };
        let mut out = Vec::new();
        if let Some(a) = params.audience {
            out.push(term(f.audience, a.code()));
        }
        if let Some(t) = params.theme.as_deref().filter(|t| !t.is_empty()) {
            out.push(term(f.theme, t));
        }
        if let Some(d) = params.department.as_deref().filter(|d| !d.is_empty()) {
            out.push(term(f.department, d));
        }
        if let Some(l) = params.level {
            out.push(term(f.level, l.code()));
        }
        if let Some(o) = params.online {
            out.push(term(f.online, if o { "1" } else { "0" }));
        }
        if params.small_business {
            out.push(term(f.small_business, "1"));
        }
        out
    }

    /// Clauses that score a text query: words in the name, keywords and body; the exact name; every
    /// word of the query in the name; pinyin prefixes; and the official phrases the query means.
    fn text_query(&self, q: &str, names_only: bool) -> Box<dyn Query> {
        let f = self.fields;
        let term = |field: Field, text: &str, boost: f32| -> (Occur, Box<dyn Query>) {
            let query: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            ));
            (Occur::Should, Box::new(BoostQuery::new(query, boost)))
        };
        let all_in_name = |phrase: &str, boost: f32| -> Option<(Occur, Box<dyn Query>)> {
            let words = words_of_phrase(phrase);
            if words.is_empty() {
                return None;
            }
            let must: Vec<(Occur, Box<dyn Query>)> = words
                .iter()
                .map(|w| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(
                            Term::from_field_text(f.name, w),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            Some((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(BooleanQuery::new(must)), boost)),
            ))
        };
        let text_fields: &[Field] = if names_only {
            &[f.name, f.keywords]
        } else {
            &[f.name, f.keywords, f.body]
        };
        // What an item must match to be found at all: at least half of the query's words (each in any
        // field), or its exact name, or its pinyin, or the official wording of an everyday phrase.
        let mut gate: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let covered = coverage(text_fields, &words_of_phrase(q));
        gate.extend(covered);
        let exact: Box<dyn Query> = Box::new(TermQuery::new(
            Term::from_field_text(f.name_exact, &q.to_lowercase()),
            IndexRecordOption::Basic,
        ));
        gate.push((Occur::Should, exact));
        // How it ranks among those found.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in words_for_search(q) {
            clauses.push(term(f.name, &word, 4.0));
            clauses.push(term(f.keywords, &word, 2.5));
            if !names_only {
                clauses.push(term(f.body, &word, 0.6));
            }
        }
        clauses.push(term(f.name_exact, &q.to_lowercase(), 12.0));
        clauses.extend(all_in_name(q, 6.0));
        if let Some(py) = as_pinyin(q) {
            clauses.push(term(f.pinyin, &py, 8.0));
            gate.push(term(f.pinyin, &py, 1.0));
        }
        for phrase in expansions(q) {
            clauses.extend(all_in_name(phrase, 10.0));
            gate.extend(all_in_name(phrase, 1.0));
            for word in words_of_phrase(phrase) {
                clauses.push(term(f.name, &word, 1.0));
            }
        }
        // The gate filters; it does not score.
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(BooleanQuery::new(gate)), 0.0)),
        ));
        Box::new(BooleanQuery::new(clauses))
    }

    /// Items matching the query and filters: by relevance when there is text, else in pinyin order.
    pub fn search(&self, params: &SearchParams) -> Result<Page<ItemHit>, CatalogError> {
        self.run(params, false)
    }

    fn run(&self, params: &SearchParams, names_only: bool) -> Result<Page<ItemHit>, CatalogError> {
        let q: String = params.q.trim().chars().take(MAX_QUERY_CHARS).collect();
        let searcher = self.reader.searcher();
        let mut clauses = self.filters(params);
        let limit = params.page.page_size() as usize;
        let offset = params.page.offset() as usize;
        let hits: Vec<(f32, DocAddress)>;
        let total;
        if q.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
            let query = BooleanQuery::new(clauses);
            let (docs, count) = searcher.search(
                &query,
                &(
                    TopDocs::with_limit(limit)
                        .and_offset(offset)
                        .order_by_u64_field("sort_key", Order::Asc),
                    Count,
                ),
            )?;
            hits = docs.into_iter().map(|(_, a)| (0.0, a)).collect();
            total = count;
        } else {
            clauses.push((Occur::Must, self.text_query(&q, names_only)));
            let query = BooleanQuery::new(clauses);
            let (docs, count) = searcher.search(
                &query,
                &(
                    TopDocs::with_limit(limit)
                        .and_offset(offset)
                        .order_by_score(),
                    Count,
                ),
            )?;
            hits = docs;
            total = count;
        }
        let mut items = Vec::with_capacity(hits.len());
        for (score, address) in hits {
            let doc: TantivyDocument = searcher.doc(address)?;
            let summary = doc
                .get_first(self.fields.summary)
                .and_then(|v| v.as_str())
                .ok_or_else(|| CatalogError::Index("document without summary".to_owned()))?;
            let mut hit: ItemHit = serde_json::from_str(summary)
                .map_err(|e| CatalogError::Index(format!("summary: {e}")))?;
            hit.score = score;
            items.push(hit);
        }
        Ok(Page::new(items, total as u64, params.page))
    }

    /// Names to suggest while someone types.
    pub fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<ItemHit>, CatalogError> {
        if prefix.trim().is_empty() {
            return Ok(Vec::new());
        }
        let page = PageRequest::new(Some(1), Some(limit.clamp(1, 20)))
            .map_err(|e| CatalogError::Index(e.to_string()))?;
        // Suggestions match names (or their pinyin), never only the body text.
        let found = self.run(
            &SearchParams {
                q: prefix.to_owned(),
                page,
                ..SearchParams::default()
            },
            true,
        )?;
        let mut seen = HashSet::new();
        Ok(found
            .items
            .into_iter()
            .filter(|h| seen.insert(h.name.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_tokens_hold_full_spelling_and_initials_prefixes() {
        let tokens = pinyin_tokens("结婚登记");
        let tokens: Vec<&str> = tokens.split(' ').collect();
        for expected in ["jhdj", "jh", "jiehundengji", "jiehun", "dengji", "dj"] {
            assert!(
                tokens.contains(&expected),
                "{expected} missing from {tokens:?}"
            );
        }
    }

    #[test]
    fn pinyin_order_sorts_by_reading() {
        assert!(sort_key("出生登记") < sort_key("结婚登记"));
        assert!(sort_key("结婚登记") < sort_key("最低生活保障"));
    }

    #[test]
    fn synonyms_expand_colloquial_phrases() {
        assert!(expansions("我想开饭店").contains(&"食品经营许可"));
        assert!(
            expansions("结婚登记").is_empty() || !expansions("结婚登记").contains(&"食品经营许可")
        );
    }

    #[test]
    fn pinyin_detection() {
        assert_eq!(as_pinyin("JHDJ").as_deref(), Some("jhdj"));
        assert_eq!(as_pinyin("jie hun").as_deref(), Some("jiehun"));
        assert_eq!(as_pinyin("结婚"), None);
        assert_eq!(as_pinyin("a"), None);
    }
}
