//! Survey types: the questionnaire definition (sections of questions) with its limits, the
//! audience, the answers one respondent gives and the results computed from them.
//!
//! A definition is stored as JSON in `surveys.definition`; it is only ever written after
//! [`Definition::check`], and read back through the same types.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yiwang_identity::model::DepartmentId;

use super::SurveyError;

yiwang_kernel::define_id!(
    /// A survey (测评).
    pub SurveyId
);

/// Longest survey title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest introduction, in characters.
pub const MAX_INTRO_CHARS: usize = 1_000;
/// Most sections of one survey.
pub const MAX_SECTIONS: usize = 10;
/// Longest section title, in characters.
pub const MAX_SECTION_CHARS: usize = 60;
/// Most questions of one survey (all sections together).
pub const MAX_QUESTIONS: usize = 50;
/// Longest question text, in characters.
pub const MAX_QUESTION_CHARS: usize = 200;
/// Fewest and most options of a choice question.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 12;
/// Longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 80;
/// Longest text answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 1_000;
/// Most people invited at publication (the period or the audience must be narrowed beyond it).
pub const MAX_INVITES: usize = 5_000;
/// Most responses one survey accepts; results are computed over all of them.
pub const MAX_RESPONSES: u64 = 50_000;
/// Longest audience period, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The 1–5 scale.
pub const SCALE_MAX: u8 = 5;

/// Defines a closed code list serialised as its code.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Parses a stored or submitted code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

code_list!(
    /// What a question asks for.
    QuestionKind {
        /// One option (单选).
        Single = "single",
        /// Any number of options, at least one when required (多选).
        Multiple = "multiple",
        /// 1 (lowest) to 5 (highest) (量表).
        Scale = "scale",
        /// Free text (文本).
        Text = "text",
    }
);

impl QuestionKind {
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multiple)
    }
}

code_list!(
    /// Where a survey stands: built as a draft, open to answers, closed.
    SurveyStatus {
        Draft = "draft",
        Open = "open",
        Closed = "closed",
    }
);

code_list!(
    /// Who is asked.
    AudienceKind {
        /// Anyone, without logging in: one answer per browser or per person.
        Public = "public",
        /// The people served by one service item in a period, invited by SMS.
        Item = "item",
        /// The people served at one hall in a period, invited by SMS.
        Hall = "hall",
    }
);

/// The audience chosen at publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub kind: AudienceKind,
    /// The item (`catalog_items.id`) or hall (`appt_groups.id`); none for the public.
    pub target: Option<i64>,
    /// The service period, China dates, both included; none for the public.
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Audience {
    pub fn public() -> Self {
        Self {
            kind: AudienceKind::Public,
            target: None,
            from: None,
            until: None,
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable within the survey (`q1`, `q2`, …); answers and results are keyed on it.
    pub key: String,
    pub kind: QuestionKind,
    pub text: String,
    pub required: bool,
    /// The options of a choice question; empty otherwise.
    #[serde(default)]
    pub options: Vec<String>,
}

/// A titled group of questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub questions: Vec<Question>,
}

/// The questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Definition {
    pub sections: Vec<Section>,
}

/// A question to add (the key is given by the survey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuestion {
    pub section: String,
    pub kind: QuestionKind,
    pub text: String,
    pub required: bool,
    pub options: Vec<String>,
}

fn too_long(field: &'static str, text: &str, max: usize) -> Result<(), SurveyError> {
    if text.chars().nth(max).is_some() {
        Err(SurveyError::TooLong(field))
    } else {
        Ok(())
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub(crate) fn required_text(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<String, SurveyError> {
    let text = text.trim();
    too_long(field, text, max)?;
    if text.is_empty() {
        return Err(SurveyError::Required(field));
    }
    Ok(text.to_owned())
}

/// A trimmed text of at most `max` characters, possibly empty.
pub(crate) fn optional_text(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<String, SurveyError> {
    let text = text.trim();
    too_long(field, text, max)?;
    Ok(text.to_owned())
}

impl NewQuestion {
    /// The question cleaned (trimmed, empty options dropped) and checked against the limits.
    pub fn checked(&self) -> Result<NewQuestion, SurveyError> {
        let section = optional_text("section", &self.section, MAX_SECTION_CHARS)?;
        let text = required_text("question", &self.text, MAX_QUESTION_CHARS)?;
        let options = if self.kind.has_options() {
            let options: Vec<String> = self
                .options
                .iter()
                .map(|o| o.trim())
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
            if options.len() < MIN_OPTIONS {
                return Err(SurveyError::TooFewOptions(MIN_OPTIONS));
            }
            if options.len() > MAX_OPTIONS {
                return Err(SurveyError::TooMany("options", MAX_OPTIONS));
            }
            for o in &options {
                too_long("options", o, MAX_OPTION_CHARS)?;
            }
            for (i, o) in options.iter().enumerate() {
                if options[..i].contains(o) {
                    return Err(SurveyError::DuplicateOption);
                }
            }
            options
        } else {
            Vec::new()
        };
        Ok(NewQuestion {
            section,
            kind: self.kind,
            text,
            required: self.required,
            options,
        })
    }
}

impl Definition {
    pub fn questions(&self) -> impl Iterator<Item = (&Section, &Question)> {
        self.sections
            .iter()
            .flat_map(|s| s.questions.iter().map(move |q| (s, q)))
    }

    pub fn question_count(&self) -> usize {
        self.sections.iter().map(|s| s.questions.len()).sum()
    }

    /// Adds a question at the end of the section of that title (a new section when there is none).
    pub fn add(&mut self, question: &NewQuestion) -> Result<String, SurveyError> {
        let q = question.checked()?;
        if self.question_count() >= MAX_QUESTIONS {
            return Err(SurveyError::TooMany("questions", MAX_QUESTIONS));
        }
        let next = self
            .questions()
            .filter_map(|(_, q)| q.key.strip_prefix('q')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let key = format!("q{next}");
        let question = Question {
            key: key.clone(),
            kind: q.kind,
            text: q.text,
            required: q.required,
            options: q.options,
        };
        if let Some(section) = self.sections.iter_mut().find(|s| s.title == q.section) {
            section.questions.push(question);
        } else {
            if self.sections.len() >= MAX_SECTIONS {
                return Err(SurveyError::TooMany("sections", MAX_SECTIONS));
            }
            self.sections.push(Section {
                title: q.section,
                questions: vec![question],
            });
        }
        Ok(key)
    }

    /// Removes a question (and its section when it was the last one in it).
    pub fn remove(&mut self, key: &str) -> Result<(), SurveyError> {
        let before = self.question_count();
        for s in &mut self.sections {
            s.questions.retain(|q| q.key != key);
        }
        self.sections.retain(|s| !s.questions.is_empty());
        if self.question_count() == before {
            return Err(SurveyError::QuestionNotFound);
        }
        Ok(())
    }

    /// Checks a whole definition (a stored one, or one given at once through the API).
    pub fn check(&self) -> Result<(), SurveyError> {
        if self.sections.len() > MAX_SECTIONS {
            return Err(SurveyError::TooMany("sections", MAX_SECTIONS));
        }
        if self.question_count() > MAX_QUESTIONS {
            return Err(SurveyError::TooMany("questions", MAX_QUESTIONS));
        }
        let mut keys: Vec<&str> = Vec::new();
        for (section, q) in self.questions() {
            let cleaned = NewQuestion {
                section: section.title.clone(),
                kind: q.kind,
                text: q.text.clone(),
                required: q.required,
                options: q.options.clone(),
            }
            .checked()?;
            if cleaned.options != q.options || cleaned.text != q.text {
                return Err(SurveyError::Corrupt("an unclean question".to_owned()));
            }
            if keys.contains(&q.key.as_str()) || q.key.is_empty() {
                return Err(SurveyError::Corrupt("duplicate question key".to_owned()));
            }
            keys.push(&q.key);
        }
        Ok(())
    }

    /// Checks one respondent's answers: every key known, every value fits its question, every
    /// required question answered. Empty text answers and empty choice lists count as not given.
    pub fn check_answers(&self, answers: &Answers) -> Result<Answers, SurveyError> {
        for key in answers.0.keys() {
            if !self.questions().any(|(_, q)| &q.key == key) {
                return Err(SurveyError::UnknownQuestion);
            }
        }
        let mut clean = BTreeMap::new();
        for (_, q) in self.questions() {
            let value = match answers.0.get(&q.key) {
                None => None,
                Some(Answer::Text(t)) if q.kind == QuestionKind::Text => {
                    let t = optional_text("answer", t, MAX_ANSWER_CHARS)
                        .map_err(|_| SurveyError::AnswerTooLong(q.key.clone()))?;
                    (!t.is_empty()).then_some(Answer::Text(t))
                }
                Some(Answer::Choice(i)) if q.kind == QuestionKind::Single => {
                    if *i >= q.options.len() {
                        return Err(SurveyError::BadAnswer(q.key.clone()));
                    }
                    Some(Answer::Choice(*i))
                }
                Some(Answer::Choices(list)) if q.kind == QuestionKind::Multiple => {
                    let mut list = list.clone();
                    list.sort_unstable();
                    list.dedup();
                    if list.iter().any(|i| *i >= q.options.len()) {
                        return Err(SurveyError::BadAnswer(q.key.clone()));
                    }
                    (!list.is_empty()).then_some(Answer::Choices(list))
                }
                Some(Answer::Scale(v)) if q.kind == QuestionKind::Scale => {
                    if !(1..=SCALE_MAX).contains(v) {
                        return Err(SurveyError::BadAnswer(q.key.clone()));
                    }
                    Some(Answer::Scale(*v))
                }
                Some(_) => return Err(SurveyError::BadAnswer(q.key.clone())),
            };
            match value {
                Some(v) => {
                    clean.insert(q.key.clone(), v);
                }
                None if q.required => return Err(SurveyError::AnswerRequired(q.key.clone())),
                None => {}
            }
        }
        Ok(Answers(clean))
    }
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The option's index (single choice).
    Choice(usize),
    /// The options' indexes (multiple choice).
    Choices(Vec<usize>),
    /// 1–5.
    Scale(u8),
    Text(String),
}

/// One respondent's answers by question key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Answers(pub BTreeMap<String, Answer>);

/// A survey as the service answers with it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyView {
    pub id: SurveyId,
    pub public_id: String,
    pub department: DepartmentId,
    pub department_name: String,
    pub title: String,
    pub intro: String,
    pub definition: Definition,
    pub status: SurveyStatus,
    pub audience: Audience,
    /// People invited at publication (item and hall audiences).
    pub invited: u64,
    pub responses: u64,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// One stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub answers: Answers,
    pub channel: String,
    pub answered_at: DateTime<Utc>,
}

/// The count of one option (or one scale point) and its share of those who answered the question.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionCount {
    pub label: String,
    pub count: u64,
    /// 0–100, `None` when nobody answered the question.
    pub percent: Option<f64>,
}

/// The results of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    pub key: String,
    pub section: String,
    pub kind: QuestionKind,
    pub text: String,
    /// Respondents who answered it.
    pub answered: u64,
    /// Per option (choice questions) or per scale point 1–5 (scale questions); empty for text.
    pub counts: Vec<OptionCount>,
    /// The mean of a scale question.
    pub average: Option<f64>,
    /// The text answers, newest first (text questions).
    pub texts: Vec<String>,
}

/// Counts, percentages and averages of every question.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResults {
    pub survey: SurveyView,
    pub responses: u64,
    pub questions: Vec<QuestionResult>,
}

/// Percentage of `part` in `whole`, `None` for an empty whole.
fn percent(part: u64, whole: u64) -> Option<f64> {
    // Counts are bounded by MAX_RESPONSES: exact in an f64.
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// Computes the results of `definition` over `responses` (newest first).
pub fn compute_results(definition: &Definition, responses: &[Response]) -> Vec<QuestionResult> {
    definition
        .questions()
        .map(|(section, q)| {
            let given: Vec<&Answer> = responses
                .iter()
                .filter_map(|r| r.answers.0.get(&q.key))
                .collect();
            let answered = given.len() as u64;
            let mut tally = vec![0_u64; q.options.len()];
            let mut scale = [0_u64; SCALE_MAX as usize];
            let mut texts = Vec::new();
            for a in &given {
                match a {
                    Answer::Choice(i) => {
                        if let Some(c) = tally.get_mut(*i) {
                            *c += 1;
                        }
                    }
                    Answer::Choices(list) => {
                        for i in list {
                            if let Some(c) = tally.get_mut(*i) {
                                *c += 1;
                            }
                        }
                    }
                    Answer::Scale(v) => {
                        if let Some(c) = scale.get_mut(usize::from(v.saturating_sub(1))) {
                            *c += 1;
                        }
                    }
                    Answer::Text(t) => texts.push(t.clone()),
                }
            }
            let (counts, average) = match q.kind {
                QuestionKind::Single | QuestionKind::Multiple => (
                    q.options
                        .iter()
                        .zip(tally)
                        .map(|(label, count)| OptionCount {
                            label: label.clone(),
                            count,
                            percent: percent(count, answered),
                        })
                        .collect(),
                    None,
                ),
                QuestionKind::Scale => {
                    let sum: u64 = scale.iter().zip(1_u64..).map(|(c, v)| c * v).sum();
                    let average = (answered > 0).then(|| sum as f64 / answered as f64);
                    (
                        scale
                            .iter()
                            .zip(1_u8..)
                            .map(|(count, v)| OptionCount {
                                label: v.to_string(),
                                count: *count,
                                percent: percent(*count, answered),
                            })
                            .collect(),
                        average,
                    )
                }
                QuestionKind::Text => (Vec::new(), None),
            };
            QuestionResult {
                key: q.key.clone(),
                section: section.title.clone(),
                kind: q.kind,
                text: q.text.clone(),
                answered,
                counts,
                average,
                texts,
            }
        })
        .collect()
}

/// How a response is shown in the CSV export: one cell per question (option labels joined by
/// "；", the scale value, the text), empty when not answered.
pub fn answer_cells(definition: &Definition, answers: &Answers) -> Vec<String> {
    definition
        .questions()
        .map(|(_, q)| match answers.0.get(&q.key) {
            None => String::new(),
            Some(Answer::Choice(i)) => q.options.get(*i).cloned().unwrap_or_default(),
            Some(Answer::Choices(list)) => list
                .iter()
                .filter_map(|i| q.options.get(*i).cloned())
                .collect::<Vec<_>>()
                .join("；"),
            Some(Answer::Scale(v)) => v.to_string(),
            Some(Answer::Text(t)) => t.clone(),
        })
        .collect()
}
