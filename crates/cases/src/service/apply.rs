//! Applying: drafts, submission, the API's one-call application and counter registration.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngExt};
use serde_json::json;
use yiwang_catalog::CatalogError;
use yiwang_catalog::model::ItemVersion;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::{ConnectionTrait, DatabaseTransaction};
use yiwang_identity::model::PersonId;
use yiwang_identity::pii::PiiField;
use yiwang_identity::policy::{Action, Principal, authorize};

use yiwang_identity::{IdentityError, reads as id_reads};
use yiwang_kernel::ResidentId;

use super::engine::{Run, case_facts};
use super::{
    Application, Cases, Origin, Prepared, QUERY_ALPHABET, actor, person_of, require_materials,
};
use crate::CaseError;
use crate::deadline::Deadlines;
use crate::form::{FieldDef, FieldKind, FieldProblem, validate_form};
use crate::machine::{self, Command};
use crate::model::{Applicant, Case, CaseId, Channel};
use crate::repo::{self, NewCase};
use crate::workflow::WorkflowDef;

impl Cases {
    pub(super) async fn applicant(
        &self,
        person: PersonId,
        enterprise: Option<&str>,
    ) -> Result<Applicant, CaseError> {
        let conn = self.db.conn();
        let found = id_reads::person_in(conn, person)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        match enterprise {
            None => Ok(Applicant {
                person_id: person,
                enterprise_id: None,
                name: found.name,
                id_masked: found.resident_id_masked,
            }),
            Some(public_id) => {
                let enterprise = id_reads::enterprise_by_public_id_in(conn, public_id)
                    .await?
                    .ok_or(IdentityError::Forbidden)?;
                let agents = id_reads::enterprise_agents_in(conn, enterprise.id).await?;
                authorize(
                    &Principal::Person(person),
                    &Action::ActForEnterprise {
                        legal_representative: enterprise.legal_representative,
                        agents: &agents,
                    },
                )?;
                Ok(Applicant {
                    person_id: person,
                    enterprise_id: Some(enterprise.id),
                    name: enterprise.name,
                    id_masked: enterprise.uscc.as_str().to_owned(),
                })
            }
        }
    }

    /// The answers with the applicant's own identity fields taken from the account, whatever was
    /// typed: `applicant_name` / `contact_name` (text), `resident_id` / `contact_id` (resident ID) and
    /// `mobile` (mobile number), where the form declares them. In the forms these keys are always the
    /// person applying (or, for an enterprise, the person acting for it), so typing somebody else's
    /// identity into them is not possible; fields about other people use other keys.
    pub(super) async fn bind_identity(
        &self,
        person: PersonId,
        form: &[FieldDef],
        answers: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, CaseError> {
        let mut bound = answers.clone();
        let wanted = |key: &str, kind: FieldKind| {
            form.iter()
                .any(|f| f.key == key && f.kind == kind)
                .then(|| key.to_owned())
        };
        let names: Vec<String> = ["applicant_name", "contact_name"]
            .into_iter()
            .filter_map(|k| wanted(k, FieldKind::Text))
            .collect();
        let ids: Vec<String> = ["resident_id", "contact_id"]
            .into_iter()
            .filter_map(|k| wanted(k, FieldKind::ResidentId))
            .collect();
        let mobiles: Vec<String> = wanted("mobile", FieldKind::Mobile).into_iter().collect();
        if names.is_empty() && ids.is_empty() && mobiles.is_empty() {
            return Ok(bound);
        }
        let (found, rid, mobile) = id_reads::person_identity_in(self.db.conn(), &self.pii, person)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        for key in names {
            bound.insert(key, found.name.clone());
        }
        for key in ids {
            bound.insert(key, rid.as_str().to_owned());
        }
        for key in mobiles {
            bound.insert(key, mobile.as_str().to_owned());
        }
        Ok(bound)
    }

    /// The application with its identity fields bound to `person` (see [`Cases::bind_identity`]).
    async fn bound_application(
        &self,
        person: PersonId,
        app: &Application,
    ) -> Result<Application, CaseError> {
        let item = app
            .item
            .ok_or(CaseError::Catalog(CatalogError::ItemNotFound))?;
        let (_, workflow) = self.application_form(item).await?;
        Ok(Application {
            answers: self
                .bind_identity(person, &workflow.definition.form, &app.answers)
                .await?,
            ..app.clone()
        })
    }

    pub(super) fn seal_form(
        &self,
        answers: &BTreeMap<String, String>,
        rng: &mut impl CryptoRng,
    ) -> String {
        let text = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
        self.pii.seal(PiiField::CaseForm, &text, rng)
    }

    pub(super) fn open_form(&self, sealed: &str) -> Result<BTreeMap<String, String>, CaseError> {
        let text = self.pii.open(PiiField::CaseForm, sealed)?;
        serde_json::from_str(&text).map_err(|e| CaseError::Corrupt(format!("form answers: {e}")))
    }

    pub(super) fn check_email(email: &str) -> Result<String, CaseError> {
        let email = email.trim();
        let ok = email.is_empty()
            || (email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'))
                && !email.chars().any(char::is_whitespace)
                && email.len() <= 200);
        if ok {
            Ok(email.to_owned())
        } else {
            Err(CaseError::FormInvalid(vec![FieldProblem {
                key: "contact_email".to_owned(),
                code: "field_bad_email",
            }]))
        }
    }

    /// Attach the application's files, each checked to belong to `owner` and to name one of the
    /// item's materials.
    pub(super) async fn attach_materials(
        &self,
        tx: &DatabaseTransaction,
        case: CaseId,
        owner: PersonId,
        version: &ItemVersion,
        materials: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        for (material, file) in materials {
            if !version
                .content
                .materials
                .iter()
                .any(|m| &m.name == material)
            {
                return Err(CaseError::UnknownMaterial(material.clone()));
            }
            let file = repo::file_by_public_id(tx, file)
                .await?
                .filter(|f| f.owner == owner)
                .ok_or(CaseError::FileNotFound)?;
            repo::attach_material(tx, case, material, file.id, now).await?;
        }
        Ok(())
    }

    /// Save an application as a draft; nothing is checked but the item, the enterprise and the files.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_draft(
        &self,
        principal: &Principal,
        app: &Application,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<CaseId, CaseError> {
        let person = person_of(principal)?;
        let app = &self.bound_application(person, app).await?;
        let prepared = self.prepare(person, app).await?;
        let tx = self.db.begin().await?;
        let id = self
            .insert_case(&tx, principal, person, app, &prepared, Channel::Online, rng)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// What storing an application needs from other domains, read before its transaction.
    async fn prepare(&self, person: PersonId, app: &Application) -> Result<Prepared, CaseError> {
        let item = app
            .item
            .ok_or(CaseError::Catalog(CatalogError::ItemNotFound))?;
        let (guide, workflow) = self.application_form(item).await?;
        let applicant = self.applicant(person, app.enterprise.as_deref()).await?;
        let contact_email = Self::check_email(&app.contact_email)?;
        Ok(Prepared {
            guide,
            workflow,
            applicant,
            contact_email,
        })
    }

    /// Store a draft for `person`, created by `principal` (the person, or window staff at the
    /// counter), in the caller's transaction.
    #[expect(
        clippy::too_many_arguments,
        reason = "the draft's inputs and the transaction it is written in"
    )]
    async fn insert_case(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        person: PersonId,
        app: &Application,
        prepared: &Prepared,
        channel: Channel,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<CaseId, CaseError> {
        let Prepared {
            guide,
            workflow,
            applicant,
            contact_email,
        } = prepared;
        let sealed = self.seal_form(&app.answers, rng);
        let public_id = yiwang_kernel::new_public_id(rng);
        let registered_by = match principal {
            Principal::Staff(staff) => Some(staff.id),
            _ => None,
        };
        let now = self.clock.now();
        let id = repo::insert_case(
            tx,
            &NewCase {
                public_id: &public_id,
                item_id: guide.item.id,
                item_version_id: guide.version.id,
                workflow_id: workflow.id,
                department_id: guide.item.department_id,
                item_name: &guide.version.content.name,
                item_code: &guide.item.impl_code,
                applicant,
                channel,
                registered_by,
                instant: workflow.definition.instant,
                form_sealed: &sealed,
                contact_email,
                commitment_signed: app.commitment_signed,
                now,
            },
        )
        .await?;
        self.attach_materials(tx, id, person, &guide.version, &app.materials, now)
            .await?;
        audit::append(
            tx,
            now,
            &AuditEvent::new(actor(principal), "case.draft", format!("case-id:{id}"), "")
                .detail(json!({ "item": guide.item.impl_code })),
        )
        .await?;
        Ok(id)
    }

    /// Replace a draft's answers and files.
    #[tracing::instrument(skip_all, err)]
    pub async fn update_draft(
        &self,
        principal: &Principal,
        id: CaseId,
        app: &Application,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<(), CaseError> {
        let person = person_of(principal)?;
        let case = self.own_case(person, id).await?;
        machine::decide(
            &case_facts(&case, None, self.clock.now()),
            Command::EditDraft,
        )?;
        let contact_email = Self::check_email(&app.contact_email)?;
        let version = self.item_version(&case).await?;
        let workflow = self.workflow(case.workflow_id).await?;
        let answers = self
            .bind_identity(person, &workflow.definition.form, &app.answers)
            .await?;
        let sealed = self.seal_form(&answers, rng);
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::set_case_form(&tx, id, &sealed, &contact_email, app.commitment_signed, now).await?;
        for existing in repo::materials_of_case(&tx, id).await? {
            repo::detach_material(&tx, id, &existing.material, existing.file.id).await?;
        }
        self.attach_materials(&tx, id, person, &version, &app.materials, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn own_case(&self, person: PersonId, id: CaseId) -> Result<Case, CaseError> {
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.authorize_view(&Principal::Person(person), &case)
            .await
            .map_err(|_| CaseError::CaseNotFound)?;
        Ok(case)
    }

    pub(super) async fn item_version(&self, case: &Case) -> Result<ItemVersion, CaseError> {
        Ok(self.catalog.version(case.item_version_id).await?)
    }

    /// Check a case's answers, materials and commitment against its item version and workflow,
    /// reading on `conn` (the submission's transaction, which may hold the case's new rows).
    async fn check_complete<C: ConnectionTrait>(
        &self,
        conn: &C,
        case: &Case,
        def: &WorkflowDef,
        version: &ItemVersion,
    ) -> Result<(), CaseError> {
        let answers = self.open_form(&repo::case_form(conn, case.id).await?)?;
        validate_form(&def.form, &answers).map_err(CaseError::FormInvalid)?;
        if def.commitment.is_some() && !case.commitment_signed {
            return Err(CaseError::CommitmentNotSigned);
        }
        let mut attached: Vec<String> = repo::materials_of_case(conn, case.id)
            .await?
            .into_iter()
            .map(|a| a.material)
            .collect();
        // 免提交: a material a licence of the applicant replaces is provided.
        attached.extend(
            self.licensed_materials(
                conn,
                &case.item_code,
                case.applicant.person_id,
                case.applicant.enterprise_id,
            )
            .await?
            .into_iter()
            .filter(|r| r.identifier.is_some())
            .map(|r| r.material),
        );
        require_materials(def, version, &attached)
    }

    /// Submit a draft: the answers are checked, the case gets its number and query code, and the
    /// intake post's task opens with the 5-working-day pre-review deadline.
    #[tracing::instrument(skip_all, err)]
    pub async fn submit(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let case = self.own_case(person, id).await?;
        let region = self.catalog.item(case.item_id).await?.region_code;
        let tx = self.db.begin().await?;
        self.submit_in(tx, principal, case, &region, origin, rng)
            .await
    }

    /// Submit `case` in `tx` and commit: everything the submission writes, and whatever the caller
    /// wrote before in the same transaction, is stored together or not at all.
    async fn submit_in(
        &self,
        tx: DatabaseTransaction,
        principal: &Principal,
        mut case: Case,
        region: &str,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let now = self.clock.now();
        let transition = machine::decide(&case_facts(&case, None, now), Command::Submit)?;
        let workflow = repo::workflow_by_id(&tx, case.workflow_id)
            .await?
            .ok_or(CaseError::NoWorkflow)?;
        let version = yiwang_catalog::reads::version_in(&tx, case.item_version_id)
            .await?
            .ok_or(CatalogError::VersionNotFound)?;
        self.check_complete(&tx, &case, &workflow.definition, &version)
            .await?;
        let query_code: String = (0..8)
            .map(|_| QUERY_ALPHABET[rng.random_range(0..QUERY_ALPHABET.len())] as char)
            .collect();
        let prefix = format!(
            "{region}{}{}",
            Deadlines::date_of(now).format("%Y%m%d"),
            self.platform_code
        );
        let seq = repo::next_sequence(&tx, &prefix).await?;
        case.case_no = Some(format!("{prefix}{seq:05}"));
        case.query_code = Some(query_code);
        let files: Vec<String> = repo::materials_of_case(&tx, case.id)
            .await?
            .into_iter()
            .map(|a| a.material)
            .collect();
        self.use_licences(&tx, principal, &case, &files, &origin.ip)
            .await?;
        let run = Run {
            def: Some(&workflow.definition),
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// Create and submit in one transaction (the API's single call): a refused application leaves
    /// nothing behind.
    pub async fn apply(
        &self,
        principal: &Principal,
        app: &Application,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        self.apply_for(principal, person, app, Channel::Online, origin, rng)
            .await
    }

    /// Store and submit an application for `person` in one transaction.
    async fn apply_for(
        &self,
        principal: &Principal,
        person: PersonId,
        app: &Application,
        channel: Channel,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let app = &self.bound_application(person, app).await?;
        let prepared = self.prepare(person, app).await?;
        let licensed: Vec<String> = self
            .licensed_materials(
                self.db.conn(),
                &prepared.guide.item.impl_code,
                person,
                prepared.applicant.enterprise_id,
            )
            .await?
            .into_iter()
            .filter(|r| r.identifier.is_some())
            .map(|r| r.material)
            .collect();
        // The cheap checks first, so most refusals do not open a transaction.
        self.precheck(app, &licensed).await?;
        let tx = self.db.begin().await?;
        let id = self
            .insert_case(&tx, principal, person, app, &prepared, channel, rng)
            .await?;
        let case = repo::case_by_id(&tx, id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.submit_in(
            tx,
            principal,
            case,
            &prepared.guide.item.region_code,
            origin,
            rng,
        )
        .await
    }

    /// The checks of submission on an application not yet stored.
    async fn precheck(&self, app: &Application, licensed: &[String]) -> Result<(), CaseError> {
        let item = app
            .item
            .ok_or(CaseError::Catalog(CatalogError::ItemNotFound))?;
        let (guide, workflow) = self.application_form(item).await?;
        Self::check_email(&app.contact_email)?;
        validate_form(&workflow.definition.form, &app.answers).map_err(CaseError::FormInvalid)?;
        if workflow.definition.commitment.is_some() && !app.commitment_signed {
            return Err(CaseError::CommitmentNotSigned);
        }
        for (material, _) in &app.materials {
            if !guide
                .version
                .content
                .materials
                .iter()
                .any(|m| &m.name == material)
            {
                return Err(CaseError::UnknownMaterial(material.clone()));
            }
        }
        let attached: Vec<String> = app
            .materials
            .iter()
            .map(|(name, _)| name.clone())
            .chain(licensed.iter().cloned())
            .collect();
        require_materials(&workflow.definition, &guide.version, &attached)
    }

    /// Window staff register an application for a person at the counter (found by resident ID);
    /// the case is the same record as an online one, marked as a counter case.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_at_counter(
        &self,
        principal: &Principal,
        resident_id: &ResidentId,
        app: &Application,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        authorize(principal, &Action::RegisterAtCounter)?;
        let person = self.person_by_resident_id(resident_id).await?;
        self.apply_for(principal, person, app, Channel::Counter, origin, rng)
            .await
    }

    /// A registered person by resident ID (window staff look applicants up this way).
    pub async fn person_by_resident_id(&self, id: &ResidentId) -> Result<PersonId, CaseError> {
        id_reads::person_by_resident_id_in(self.db.conn(), &self.pii, id)
            .await?
            .map(|person| person.id)
            .ok_or_else(|| {
                CaseError::Identity(IdentityError::Invalid {
                    field: "resident_id",
                    code: "person_not_registered",
                    message: "no registered person has this resident ID".to_owned(),
                })
            })
    }
}
