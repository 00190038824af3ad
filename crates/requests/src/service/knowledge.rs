//! The knowledge base (知识库): questions and answers filed under the category tree, written by
//! hotline operators and platform administrators, read by anyone. A category's answers include
//! its ancestors' (general answers apply to every sub-category); suggestions rank them by
//! similarity to what the caller asked.

use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::model::Role;
use yiwang_identity::policy::Principal;

use super::{MAX_TEXT_CHARS, MAX_TITLE_CHARS, Requests, actor, record_in, required};
use crate::RequestError;
use crate::model::{KnowledgeEntry, KnowledgeId};
use crate::repo;
use crate::similar::jaccard;

fn may_write(principal: &Principal) -> Result<(), RequestError> {
    match principal {
        Principal::System => Ok(()),
        Principal::Staff(s) if s.has(Role::PlatformAdmin) || s.has(Role::HotlineOperator) => Ok(()),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// The category and its ancestors, most specific first.
async fn chain(tx: &DatabaseTransaction, category: &str) -> Result<Vec<String>, RequestError> {
    let mut codes = Vec::new();
    let mut next = Some(category.to_owned());
    while let Some(code) = next.take() {
        if codes.len() >= 12 || codes.contains(&code) {
            break;
        }
        let Some(node) = repo::category(tx, &code).await? else {
            break;
        };
        next = node.parent;
        codes.push(code);
    }
    if codes.is_empty() {
        return Err(RequestError::UnknownCategory(category.to_owned()));
    }
    Ok(codes)
}

impl Requests {
    /// Files a question and its answer under a category.
    #[tracing::instrument(skip_all, err)]
    pub async fn add_answer(
        &self,
        principal: &Principal,
        category: &str,
        question: &str,
        answer: &str,
        source: &str,
    ) -> Result<KnowledgeEntry, RequestError> {
        may_write(principal)?;
        let question = required("question", question, MAX_TITLE_CHARS)?;
        let answer = required("answer", answer, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if repo::category(&tx, category).await?.is_none() {
            return Err(RequestError::UnknownCategory(category.to_owned()));
        }
        let who = actor(principal);
        let id = repo::insert_entry(&tx, category, question, answer, &who, now).await?;
        record_in(
            &tx,
            now,
            &who,
            "request.knowledge_add",
            format!("request_knowledge:{id}"),
            source,
            json!({ "category": category, "question": question }),
        )
        .await?;
        let entry = repo::entry(&tx, id)
            .await?
            .ok_or(RequestError::KnowledgeNotFound)?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Rewrites an entry; `revision` is the one the writer saw (a concurrent edit is refused).
    #[tracing::instrument(skip_all, err)]
    pub async fn update_answer(
        &self,
        principal: &Principal,
        id: KnowledgeId,
        revision: i64,
        question: &str,
        answer: &str,
        source: &str,
    ) -> Result<KnowledgeEntry, RequestError> {
        may_write(principal)?;
        let question = required("question", question, MAX_TITLE_CHARS)?;
        let answer = required("answer", answer, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if repo::entry(&tx, id).await?.is_none() {
            return Err(RequestError::KnowledgeNotFound);
        }
        let who = actor(principal);
        if !repo::update_entry(&tx, id, revision, question, answer, &who, now).await? {
            return Err(RequestError::Conflict);
        }
        record_in(
            &tx,
            now,
            &who,
            "request.knowledge_update",
            format!("request_knowledge:{id}"),
            source,
            json!({ "question": question }),
        )
        .await?;
        let entry = repo::entry(&tx, id)
            .await?
            .ok_or(RequestError::KnowledgeNotFound)?;
        tx.commit().await?;
        Ok(entry)
    }

    /// The answers of a category and of its ancestors, most specific category first.
    pub async fn answers(&self, category: &str) -> Result<Vec<KnowledgeEntry>, RequestError> {
        let tx = self.db.begin().await?;
        let mut all = Vec::new();
        for code in chain(&tx, category).await? {
            all.extend(repo::entries_of(&tx, &code).await?);
        }
        tx.commit().await?;
        Ok(all)
    }

    /// Up to `limit` answers of the category (and its ancestors) whose question resembles `text`,
    /// most similar first; entries sharing no character pair with it are left out.
    pub async fn suggest_answers(
        &self,
        category: &str,
        text: &str,
        limit: usize,
    ) -> Result<Vec<KnowledgeEntry>, RequestError> {
        let mut scored: Vec<(f64, KnowledgeEntry)> = self
            .answers(category)
            .await?
            .into_iter()
            .map(|e| (jaccard(&e.question, text), e))
            .filter(|(score, _)| *score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
        Ok(scored.into_iter().take(limit).map(|(_, e)| e).collect())
    }
}
