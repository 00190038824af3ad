//! Workflow definitions: the declarative description of how a case of one item moves through posts.
//!
//! A definition is written by an administrator as TOML (or JSON), checked as a whole before it is
//! stored — every problem is reported with the step it concerns — and kept as an immutable numbered
//! version; a case records the version it started under and keeps it to the end.
//!
//! The shape: one `intake` step (受理, at a front-desk post) comes first; `review` steps follow, a step
//! with several `next` steps forks into parallel branches (并联审批) and a step that several steps lead
//! to must be marked `join` (it opens when every branch has finished); one `decide` step (决定) ends the
//! flow. The intake post delivers the result (one window in, one window out), and it may not also be
//! the deciding post (受审分离). An `instant` workflow (即办件) has only the intake step, which decides on
//! the spot.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::form::{FieldDef, form_problems};

/// What kind of work a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// 受理: check the application, accept, decline or ask for a supplement.
    Intake,
    /// 审查: examine and give an opinion.
    Review,
    /// 决定: grant or deny.
    Decide,
}

impl StepKind {
    pub fn code(self) -> &'static str {
        match self {
            StepKind::Intake => "intake",
            StepKind::Review => "review",
            StepKind::Decide => "decide",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [StepKind::Intake, StepKind::Review, StepKind::Decide]
            .into_iter()
            .find(|k| k.code() == code)
    }

    /// The actions a step of this kind offers when its definition names none.
    pub fn default_actions(self) -> &'static [StepAction] {
        match self {
            StepKind::Intake => &[
                StepAction::Accept,
                StepAction::Decline,
                StepAction::Supplement,
            ],
            StepKind::Review => &[
                StepAction::Agree,
                StepAction::Disagree,
                StepAction::SendBack,
                StepAction::Supplement,
                StepAction::Special,
            ],
            StepKind::Decide => &[
                StepAction::Grant,
                StepAction::Deny,
                StepAction::SendBack,
                StepAction::Special,
            ],
        }
    }
}

/// What a post can do at a step (GLOSSARY §2 step results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// 受理
    Accept,
    /// 不予受理
    Decline,
    /// 补齐补正 (one notice listing everything missing)
    Supplement,
    /// 同意
    Agree,
    /// 不同意
    Disagree,
    /// 退回 (to the previous step)
    SendBack,
    /// 特别程序 (the clock stops)
    Special,
    /// 准予
    Grant,
    /// 不予
    Deny,
}

impl StepAction {
    pub const ALL: [StepAction; 9] = [
        StepAction::Accept,
        StepAction::Decline,
        StepAction::Supplement,
        StepAction::Agree,
        StepAction::Disagree,
        StepAction::SendBack,
        StepAction::Special,
        StepAction::Grant,
        StepAction::Deny,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StepAction::Accept => "accept",
            StepAction::Decline => "decline",
            StepAction::Supplement => "supplement",
            StepAction::Agree => "agree",
            StepAction::Disagree => "disagree",
            StepAction::SendBack => "send_back",
            StepAction::Special => "special",
            StepAction::Grant => "grant",
            StepAction::Deny => "deny",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Whether a step of `kind` may offer this action at all.
    pub fn fits(self, kind: StepKind) -> bool {
        match kind {
            StepKind::Intake => matches!(
                self,
                StepAction::Accept | StepAction::Decline | StepAction::Supplement
            ),
            StepKind::Review => matches!(
                self,
                StepAction::Agree
                    | StepAction::Disagree
                    | StepAction::SendBack
                    | StepAction::Supplement
                    | StepAction::Special
            ),
            StepKind::Decide => matches!(
                self,
                StepAction::Grant
                    | StepAction::Deny
                    | StepAction::SendBack
                    | StepAction::Supplement
                    | StepAction::Special
            ),
        }
    }

    /// Actions that close the task with a written opinion the applicant or the next post relies on.
    pub fn needs_opinion(self) -> bool {
        matches!(
            self,
            StepAction::Decline
                | StepAction::Disagree
                | StepAction::SendBack
                | StepAction::Deny
                | StepAction::Supplement
                | StepAction::Special
        )
    }
}

/// A post named as `department-code/post-code`, e.g. `hf-scjgj/food-license-review`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostRef {
    pub department: String,
    pub post: String,
}

impl TryFrom<String> for PostRef {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.split_once('/') {
            Some((department, post))
                if !department.trim().is_empty()
                    && !post.trim().is_empty()
                    && !post.contains('/') =>
            {
                Ok(PostRef {
                    department: department.trim().to_owned(),
                    post: post.trim().to_owned(),
                })
            }
            _ => Err(format!(
                "post {text:?} is not written as department-code/post-code"
            )),
        }
    }
}

impl From<PostRef> for String {
    fn from(p: PostRef) -> String {
        p.to_string()
    }
}

impl std::fmt::Display for PostRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.department, self.post)
    }
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Unique within the definition: lowercase letters, digits and `-`.
    pub id: String,
    /// Shown to staff and applicants (e.g. 受理, 审查, 现场核查, 决定).
    pub name: String,
    pub kind: StepKind,
    pub post: PostRef,
    /// The steps that follow; more than one forks into parallel branches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    /// The step waits for every step leading to it (the join of parallel branches).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub join: bool,
    /// The actions offered; empty means the kind's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<StepAction>,
    /// Working days the post has for the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_days: Option<u32>,
}

impl StepDef {
    /// The actions this step offers.
    pub fn offered(&self) -> Vec<StepAction> {
        if self.actions.is_empty() {
            self.kind.default_actions().to_vec()
        } else {
            self.actions.clone()
        }
    }

    pub fn offers(&self, action: StepAction) -> bool {
        if self.actions.is_empty() {
            self.kind.default_actions().contains(&action)
        } else {
            self.actions.contains(&action)
        }
    }
}

/// 告知承诺: the applicant signs a promise that replaces certain proofs; the case is granted at
/// acceptance and checked later by a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentDef {
    /// The promise the applicant signs, word for word.
    pub statement: String,
    /// The materials the promise replaces (names as in the guide).
    #[serde(default)]
    pub replaces: Vec<String>,
    /// The post that verifies the promise afterwards.
    pub verify_post: PostRef,
    /// Working days after the grant within which it is verified.
    pub verify_within_days: u32,
}

/// A complete workflow definition with the application form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    /// 即办件: decided on the spot by the intake post.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub instant: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<CommitmentDef>,
    pub steps: Vec<StepDef>,
    /// The application form's fields.
    #[serde(default)]
    pub form: Vec<FieldDef>,
}

/// One thing wrong with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowProblem {
    /// Stable code the UI translates (`unknown_post`, `unreachable_step`, `join_without_fork`…).
    pub code: &'static str,
    /// The step (or form field) concerned, if any.
    pub at: Option<String>,
    /// What exactly is wrong, in English for logs and the API's `reason`.
    pub message: String,
}

fn problem(code: &'static str, at: Option<&str>, message: String) -> WorkflowProblem {
    WorkflowProblem {
        code,
        at: at.map(str::to_owned),
        message,
    }
}

/// How a definition's posts resolve to departments and posts of the organisation.
pub trait PostDirectory {
    /// `None` when the department or its post does not exist.
    fn resolve(&self, post: &PostRef) -> Option<ResolvedPost>;
}

/// A post found in the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolvedPost {
    pub department_id: yiwang_identity::DepartmentId,
    pub post_id: yiwang_identity::model::PostId,
}

impl<S: std::hash::BuildHasher> PostDirectory for HashMap<PostRef, ResolvedPost, S> {
    fn resolve(&self, post: &PostRef) -> Option<ResolvedPost> {
        self.get(post).copied()
    }
}

fn valid_step_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl WorkflowDef {
    /// Read a definition written as TOML.
    pub fn from_toml(text: &str) -> Result<Self, WorkflowProblem> {
        toml::from_str(text)
            .map_err(|e| problem("workflow_unreadable", None, e.to_string().trim().to_owned()))
    }

    /// Read a definition stored or sent as JSON.
    pub fn from_json(text: &str) -> Result<Self, WorkflowProblem> {
        serde_json::from_str(text).map_err(|e| problem("workflow_unreadable", None, e.to_string()))
    }

    pub fn to_json(&self) -> String {
        // A definition is plain data (strings, numbers, lists); serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn step(&self, id: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn intake(&self) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.kind == StepKind::Intake)
    }

    pub fn decide(&self) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.kind == StepKind::Decide)
    }

    /// The steps leading to `id`.
    pub fn predecessors(&self, id: &str) -> Vec<&StepDef> {
        self.steps
            .iter()
            .filter(|s| s.next.iter().any(|n| n == id))
            .collect()
    }

    /// Whether two or more branches run at once somewhere (parallel approval).
    pub fn is_parallel(&self) -> bool {
        self.steps.iter().any(|s| s.next.len() > 1)
    }

    /// Every problem of the definition; empty when it may be published.
    pub fn problems(&self, posts: &dyn PostDirectory) -> Vec<WorkflowProblem> {
        let mut out = Vec::new();
        if self.steps.is_empty() {
            out.push(problem(
                "workflow_no_steps",
                None,
                "the workflow has no steps".to_owned(),
            ));
            return out;
        }
        let mut seen = HashSet::new();
        for step in &self.steps {
            if !valid_step_id(&step.id) {
                out.push(problem(
                    "step_bad_id",
                    Some(&step.id),
                    format!(
                        "step id {:?} must be 1–40 lowercase letters, digits or '-'",
                        step.id
                    ),
                ));
            }
            if !seen.insert(step.id.as_str()) {
                out.push(problem(
                    "step_duplicate",
                    Some(&step.id),
                    format!("step {:?} is defined twice", step.id),
                ));
            }
            if step.name.trim().is_empty() {
                out.push(problem(
                    "step_no_name",
                    Some(&step.id),
                    format!("step {:?} has no name", step.id),
                ));
            }
            if posts.resolve(&step.post).is_none() {
                out.push(problem(
                    "unknown_post",
                    Some(&step.id),
                    format!(
                        "step {:?} is assigned to post {}, which does not exist",
                        step.id, step.post
                    ),
                ));
            }
            for action in &step.actions {
                if !action.fits(step.kind) {
                    out.push(problem(
                        "action_not_allowed",
                        Some(&step.id),
                        format!(
                            "a {} step cannot offer {:?}",
                            step.kind.code(),
                            action.code()
                        ),
                    ));
                }
            }
            if step.limit_days == Some(0) {
                out.push(problem(
                    "step_limit_zero",
                    Some(&step.id),
                    format!("step {:?} has a time limit of 0 days", step.id),
                ));
            }
            for next in &step.next {
                if self.step(next).is_none() {
                    out.push(problem(
                        "unknown_next_step",
                        Some(&step.id),
                        format!("step {:?} leads to {next:?}, which is not defined", step.id),
                    ));
                }
                if next == &step.id {
                    out.push(problem(
                        "workflow_cycle",
                        Some(&step.id),
                        format!("step {:?} leads to itself", step.id),
                    ));
                }
            }
            let mut distinct = HashSet::new();
            if step.next.iter().any(|n| !distinct.insert(n)) {
                out.push(problem(
                    "step_duplicate_next",
                    Some(&step.id),
                    format!("step {:?} names the same next step twice", step.id),
                ));
            }
        }
        self.shape_problems(&mut out);
        self.graph_problems(&mut out);
        self.separation_problems(posts, &mut out);
        if let Some(commitment) = &self.commitment {
            if commitment.statement.trim().is_empty() {
                out.push(problem(
                    "commitment_no_statement",
                    None,
                    "a commitment workflow needs the statement the applicant signs".to_owned(),
                ));
            }
            if posts.resolve(&commitment.verify_post).is_none() {
                out.push(problem(
                    "unknown_post",
                    None,
                    format!(
                        "the commitment is verified by post {}, which does not exist",
                        commitment.verify_post
                    ),
                ));
            }
            if commitment.verify_within_days == 0 {
                out.push(problem(
                    "commitment_no_verify_limit",
                    None,
                    "the commitment must be verified within a number of working days above 0"
                        .to_owned(),
                ));
            }
            if self.instant {
                out.push(problem(
                    "commitment_and_instant",
                    None,
                    "a workflow is either instant or on commitment, not both".to_owned(),
                ));
            }
        }
        out.extend(form_problems(&self.form));
        out
    }

    /// One intake step first, one decide step last (or only the intake step for an instant workflow).
    fn shape_problems(&self, out: &mut Vec<WorkflowProblem>) {
        let intakes: Vec<&StepDef> = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Intake)
            .collect();
        let decides: Vec<&StepDef> = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Decide)
            .collect();
        match intakes.as_slice() {
            [] => out.push(problem(
                "workflow_no_intake",
                None,
                "the workflow has no intake step".to_owned(),
            )),
            [only] => {
                if self.steps.first().map(|s| &s.id) != Some(&only.id) {
                    out.push(problem(
                        "intake_not_first",
                        Some(&only.id),
                        "the intake step must be the first step".to_owned(),
                    ));
                }
                if !self.predecessors(&only.id).is_empty() {
                    out.push(problem(
                        "intake_has_predecessor",
                        Some(&only.id),
                        "no step may lead back to the intake step".to_owned(),
                    ));
                }
            }
            [_, more @ ..] => {
                for extra in more {
                    out.push(problem(
                        "workflow_many_intakes",
                        Some(&extra.id),
                        "a workflow has exactly one intake step".to_owned(),
                    ));
                }
            }
        }
        if self.instant {
            if self.steps.len() != 1 {
                out.push(problem(
                    "instant_has_steps",
                    None,
                    "an instant workflow has only its intake step, which decides on the spot"
                        .to_owned(),
                ));
            }
            return;
        }
        match decides.as_slice() {
            [] => out.push(problem(
                "workflow_no_decide",
                None,
                "the workflow has no decide step".to_owned(),
            )),
            [only] => {
                if !only.next.is_empty() {
                    out.push(problem(
                        "decide_not_last",
                        Some(&only.id),
                        "nothing may follow the decide step".to_owned(),
                    ));
                }
            }
            [_, more @ ..] => {
                for extra in more {
                    out.push(problem(
                        "workflow_many_decides",
                        Some(&extra.id),
                        "a workflow has exactly one decide step".to_owned(),
                    ));
                }
            }
        }
        for step in &self.steps {
            if step.kind != StepKind::Decide && step.next.is_empty() {
                out.push(problem(
                    "step_dead_end",
                    Some(&step.id),
                    format!(
                        "step {:?} leads nowhere; every path must reach the decide step",
                        step.id
                    ),
                ));
            }
        }
    }

    /// Reachability, cycles and joins.
    fn graph_problems(&self, out: &mut Vec<WorkflowProblem>) {
        let Some(start) = self.steps.first() else {
            return;
        };
        let index: HashMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        // Reachable from the first step.
        let mut reached = vec![false; self.steps.len()];
        let mut queue = VecDeque::from([0usize]);
        reached[0] = true;
        while let Some(i) = queue.pop_front() {
            for next in &self.steps[i].next {
                if let Some(&j) = index.get(next.as_str())
                    && !reached[j]
                {
                    reached[j] = true;
                    queue.push_back(j);
                }
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            if !reached[i] {
                out.push(problem(
                    "unreachable_step",
                    Some(&step.id),
                    format!("step {:?} cannot be reached from {:?}", step.id, start.id),
                ));
            }
        }
        // Cycles (Kahn's algorithm over the defined edges).
        let mut indegree = vec![0usize; self.steps.len()];
        for step in &self.steps {
            for next in &step.next {
                if let Some(&j) = index.get(next.as_str()) {
                    indegree[j] += 1;
                }
            }
        }
        let mut ready: VecDeque<usize> = (0..self.steps.len())
            .filter(|&i| indegree[i] == 0)
            .collect();
        let mut removed = 0;
        while let Some(i) = ready.pop_front() {
            removed += 1;
            for next in &self.steps[i].next {
                if let Some(&j) = index.get(next.as_str()) {
                    indegree[j] -= 1;
                    if indegree[j] == 0 {
                        ready.push_back(j);
                    }
                }
            }
        }
        if removed < self.steps.len() {
            let in_cycle: Vec<&str> = (0..self.steps.len())
                .filter(|&i| indegree[i] > 0)
                .map(|i| self.steps[i].id.as_str())
                .collect();
            out.push(problem(
                "workflow_cycle",
                in_cycle.first().copied(),
                format!(
                    "the steps {} lead round in a circle (use 退回 to go back, not an edge)",
                    in_cycle.join(", ")
                ),
            ));
        }
        // Joins: a step several steps lead to must wait for all of them, and only such a step may.
        for step in &self.steps {
            let incoming = self.predecessors(&step.id).len();
            if step.join && incoming < 2 {
                out.push(problem(
                    "join_without_fork",
                    Some(&step.id),
                    format!(
                        "step {:?} is a join but only {incoming} step leads to it",
                        step.id
                    ),
                ));
            }
            if !step.join && incoming >= 2 {
                out.push(problem(
                    "merge_without_join",
                    Some(&step.id),
                    format!(
                        "{incoming} steps lead to {:?}; mark it `join = true` so it waits for all of them",
                        step.id
                    ),
                ));
            }
        }
    }

    /// 受审分离: the post that accepts does not decide.
    fn separation_problems(&self, posts: &dyn PostDirectory, out: &mut Vec<WorkflowProblem>) {
        if self.instant {
            return;
        }
        if let (Some(intake), Some(decide)) = (self.intake(), self.decide())
            && (intake.post == decide.post
                || matches!((posts.resolve(&intake.post), posts.resolve(&decide.post)),
                    (Some(a), Some(b)) if a.post_id == b.post_id))
        {
            out.push(problem(
                "separation_violated",
                Some(&decide.id),
                format!(
                    "post {} both accepts and decides; intake and decision must be separate posts",
                    intake.post
                ),
            ));
        }
    }

    /// Every post the definition names, to resolve them all at once.
    pub fn post_refs(&self) -> Vec<PostRef> {
        let mut refs: Vec<PostRef> = self.steps.iter().map(|s| s.post.clone()).collect();
        if let Some(c) = &self.commitment {
            refs.push(c.verify_post.clone());
        }
        refs.sort();
        refs.dedup();
        refs
    }

    /// Steps in layers from the intake step (longest path), for drawing: each layer's steps run side
    /// by side.
    pub fn layers(&self) -> Vec<Vec<&StepDef>> {
        let index: HashMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut depth = vec![0usize; self.steps.len()];
        // Longest-path layering; bounded by the step count so a (rejected) cycle cannot loop forever.
        for _ in 0..self.steps.len() {
            let mut changed = false;
            for (i, step) in self.steps.iter().enumerate() {
                for next in &step.next {
                    if let Some(&j) = index.get(next.as_str())
                        && depth[j] < depth[i] + 1
                    {
                        depth[j] = depth[i] + 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut layers: BTreeMap<usize, Vec<&StepDef>> = BTreeMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            layers.entry(depth[i]).or_default().push(step);
        }
        layers.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiwang_identity::DepartmentId;
    use yiwang_identity::model::PostId;

    fn directory() -> HashMap<PostRef, ResolvedPost> {
        let mut map = HashMap::new();
        for (n, name) in ["a/window", "a/review", "a/chief", "b/review", "c/check"]
            .into_iter()
            .enumerate()
        {
            map.insert(
                PostRef::try_from(name.to_owned()).unwrap(),
                ResolvedPost {
                    department_id: DepartmentId::new(1 + n as i64 / 3),
                    post_id: PostId::new(n as i64 + 1),
                },
            );
        }
        map
    }

    fn codes(def: &str) -> Vec<&'static str> {
        let def = WorkflowDef::from_toml(def).unwrap();
        def.problems(&directory())
            .into_iter()
            .map(|p| p.code)
            .collect()
    }

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

    #[test]
    fn accepts_a_parallel_definition_and_lays_it_out() {
        assert_eq!(codes(PARALLEL), Vec::<&str>::new());
        let def = WorkflowDef::from_toml(PARALLEL).unwrap();
        assert!(def.is_parallel());
        let layers: Vec<Vec<&str>> = def
            .layers()
            .iter()
            .map(|l| l.iter().map(|s| s.id.as_str()).collect())
            .collect();
        assert_eq!(
            layers,
            vec![vec!["accept"], vec!["review-a", "review-b"], vec!["decide"]]
        );
        let round = WorkflowDef::from_json(&def.to_json()).unwrap();
        assert_eq!(round, def);
    }

    #[test]
    fn names_each_problem() {
        assert_eq!(
            codes(&PARALLEL.replace("post = \"b/review\"", "post = \"b/nobody\"")),
            vec!["unknown_post"]
        );
        assert_eq!(
            codes(&PARALLEL.replace("join = true", "")),
            vec!["merge_without_join"]
        );
        // A step nothing leads to.
        assert_eq!(
            codes(&PARALLEL.replace(
                "next = [\"review-a\", \"review-b\"]",
                "next = [\"review-a\"]"
            )),
            vec!["unreachable_step"]
        );
        // A join with one step leading to it.
        let sequential = "[[steps]]\nid = \"accept\"\nname = \"受理\"\nkind = \"intake\"\npost = \"a/window\"\nnext = [\"decide\"]\n\
            [[steps]]\nid = \"decide\"\nname = \"决定\"\nkind = \"decide\"\npost = \"a/chief\"\njoin = true\n";
        assert_eq!(codes(sequential), vec!["join_without_fork"]);
        assert_eq!(
            codes(&PARALLEL.replace(
                "next = [\"decide\"]\n        limit_days = 5",
                "next = [\"nowhere\"]"
            )),
            vec!["unknown_next_step", "join_without_fork"]
        );
        assert_eq!(
            codes(&PARALLEL.replace("post = \"a/chief\"", "post = \"a/window\"")),
            vec!["separation_violated"]
        );
        assert_eq!(
            codes(&PARALLEL.replace(
                "limit_days = 5",
                "limit_days = 5\n        actions = [\"grant\"]"
            )),
            vec!["action_not_allowed"]
        );
        // review-b leads back to review-a and review-a to review-b: a circle.
        let cyclic = PARALLEL
            .replace(
                "post = \"b/review\"\n        next = [\"decide\"]",
                "post = \"b/review\"\n        next = [\"decide\", \"review-a\"]",
            )
            .replace(
                "next = [\"decide\"]\n        limit_days = 5",
                "next = [\"decide\", \"review-b\"]\n        limit_days = 5",
            );
        assert!(codes(&cyclic).contains(&"workflow_cycle"));
        assert_eq!(
            codes(
                "[[steps]]\nid = \"d\"\nname = \"决定\"\nkind = \"decide\"\npost = \"a/chief\"\n"
            ),
            vec!["workflow_no_intake"]
        );
        assert!(WorkflowDef::from_toml("[[steps]]\nid = 1").is_err());
        let bad_post = WorkflowDef::from_toml(&PARALLEL.replace("\"a/chief\"", "\"chief\""));
        assert_eq!(bad_post.unwrap_err().code, "workflow_unreadable");
    }

    #[test]
    fn instant_workflows_have_one_step() {
        let instant = "instant = true\n[[steps]]\nid = \"accept\"\nname = \"受理即办\"\nkind = \"intake\"\npost = \"a/window\"\n";
        assert_eq!(codes(instant), Vec::<&str>::new());
        let with_more = format!(
            "{instant}next = [\"decide\"]\n[[steps]]\nid = \"decide\"\nname = \"决定\"\nkind = \"decide\"\npost = \"a/chief\"\n"
        );
        assert_eq!(codes(&with_more), vec!["instant_has_steps"]);
    }
}
