//! Survey pages (测评): anyone answers an open public survey (`/surveys/{id}`, one answer per
//! person or browser, throttled per address) or the survey of their SMS invitation
//! (`/surveys/invitation?t=…`); a department administrator builds a survey by posting one question
//! at a time (no JavaScript), publishes it to the public or to the people served by an item or a
//! hall in a period, closes it, and reads the results with server-rendered SVG bar charts
//! (`charts.rs` of the rating pages) and a CSV export.

mod answer;
mod staff;

use axum::Router;
use axum::routing::{get, post};
use yiwang_ratings::survey::SurveyError;
use yiwang_ratings::survey::model::{
    Answer, Answers, Definition, QuestionKind, SCALE_MAX, SurveyStatus,
};

use crate::i18n::Tr;
use crate::portal::form::FormErrors;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(answer::open_list))
        .route(
            "/surveys/invitation",
            get(answer::invitation_form).post(answer::invitation_answer),
        )
        .route("/surveys/{id}", get(answer::form).post(answer::submit))
        .route("/staff/surveys", get(staff::list).post(staff::create))
        .route("/staff/surveys/{id}", get(staff::builder))
        .route("/staff/surveys/{id}/questions", post(staff::add_question))
        .route(
            "/staff/surveys/{id}/questions/{key}/remove",
            post(staff::remove_question),
        )
        .route("/staff/surveys/{id}/publish", post(staff::publish))
        .route("/staff/surveys/{id}/close", post(staff::close))
        .route("/staff/surveys/{id}/results", get(staff::results))
        .route("/staff/surveys/{id}/results.csv", get(staff::results_csv))
}

/// What audit entries name as the request's source.
fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("web:{}", meta.ip)
}

/// The localized message of a survey error.
fn survey_message(tr: Tr, error: &SurveyError) -> String {
    use yiwang_kernel::ErrorCode as _;
    crate::portal::form::message_for(tr, error.code(), &error.to_string())
}

fn kind_name(tr: Tr, kind: QuestionKind) -> &'static str {
    tr.t(&format!("survey.page.kind.{}", kind.code()))
}

fn status_name(tr: Tr, status: SurveyStatus) -> &'static str {
    tr.t(&format!("survey.page.status.{}", status.code()))
}

/// One choice of a question as the answering form shows it.
#[derive(Debug)]
pub struct ChoiceField {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One question as the answering form shows it.
#[derive(Debug)]
pub struct QuestionField {
    pub key: String,
    pub kind: &'static str,
    pub text: String,
    pub required: bool,
    pub choices: Vec<ChoiceField>,
    pub text_value: String,
    pub error: Option<String>,
}

/// One section of the answering form.
#[derive(Debug)]
pub struct SectionField {
    pub title: String,
    pub questions: Vec<QuestionField>,
}

/// The form's fields, with what was submitted (`pairs`) kept and errors placed by question.
fn question_fields(
    tr: Tr,
    definition: &Definition,
    pairs: &[(String, String)],
    errors: &FormErrors,
) -> Vec<SectionField> {
    definition
        .sections
        .iter()
        .map(|s| SectionField {
            title: s.title.clone(),
            questions: s
                .questions
                .iter()
                .map(|q| {
                    let sent: Vec<&str> = pairs
                        .iter()
                        .filter(|(k, _)| *k == q.key)
                        .map(|(_, v)| v.as_str())
                        .collect();
                    let choices = match q.kind {
                        QuestionKind::Single | QuestionKind::Multiple => q
                            .options
                            .iter()
                            .enumerate()
                            .map(|(i, o)| ChoiceField {
                                value: i.to_string(),
                                label: o.clone(),
                                checked: sent.contains(&i.to_string().as_str()),
                            })
                            .collect(),
                        QuestionKind::Scale => (1..=SCALE_MAX)
                            .map(|v| ChoiceField {
                                value: v.to_string(),
                                label: tr.t(&format!("survey.page.scale.{v}")).to_owned(),
                                checked: sent.contains(&v.to_string().as_str()),
                            })
                            .collect(),
                        QuestionKind::Text => Vec::new(),
                    };
                    QuestionField {
                        key: q.key.clone(),
                        kind: q.kind.code(),
                        text: q.text.clone(),
                        required: q.required,
                        choices,
                        text_value: if q.kind == QuestionKind::Text {
                            sent.first().map(|t| (*t).to_owned()).unwrap_or_default()
                        } else {
                            String::new()
                        },
                        error: errors.for_field(&q.key).map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect()
}

/// The answers of a posted form: a value that does not parse is an error on its question.
fn answers_from_form(
    tr: Tr,
    definition: &Definition,
    pairs: &[(String, String)],
) -> Result<Answers, FormErrors> {
    let mut answers = std::collections::BTreeMap::new();
    for (_, q) in definition.questions() {
        let sent: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == q.key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        let bad = || {
            FormErrors::one(
                &q.key,
                survey_message(tr, &SurveyError::BadAnswer(q.key.clone())),
            )
        };
        let value = match q.kind {
            QuestionKind::Single => match sent.as_slice() {
                [] => None,
                [one] => Some(Answer::Choice(one.parse().map_err(|_| bad())?)),
                _ => return Err(bad()),
            },
            QuestionKind::Multiple => {
                if sent.len() > q.options.len() {
                    return Err(bad());
                }
                let list = sent
                    .iter()
                    .map(|v| v.parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad())?;
                (!list.is_empty()).then_some(Answer::Choices(list))
            }
            QuestionKind::Scale => match sent.as_slice() {
                [] => None,
                [one] => Some(Answer::Scale(one.parse().map_err(|_| bad())?)),
                _ => return Err(bad()),
            },
            QuestionKind::Text => sent.first().map(|t| Answer::Text((*t).to_owned())),
        };
        if let Some(v) = value {
            answers.insert(q.key.clone(), v);
        }
    }
    Ok(Answers(answers))
}

/// The form error of a refused answer: on its question when it names one.
fn answer_refusal(tr: Tr, error: &SurveyError) -> Option<FormErrors> {
    match error {
        SurveyError::AnswerRequired(key)
        | SurveyError::BadAnswer(key)
        | SurveyError::AnswerTooLong(key) => Some(FormErrors::one(key, survey_message(tr, error))),
        SurveyError::UnknownQuestion => Some(FormErrors::one("answers", survey_message(tr, error))),
        _ => None,
    }
}

/// The first value of a form field (empty when absent).
fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
