//! Enterprises: a person registers an enterprise they legally represent and authorises agents (other
//! registered persons) to act for it; a revoked agent loses access at once.

use rand::CryptoRng;
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::{Mobile, ResidentId, Uscc};

use crate::IdentityError;
use crate::model::{
    Agent, AuthSession, ClientMeta, Enterprise, EnterpriseClaim, EnterpriseRelation, PersonId,
};
use crate::pii::PiiField;
use crate::policy::{Action, Principal, authorize};
use crate::repo::{self, PersonIndex, enterprise as ent_repo, safety};
use crate::service::account::{Accounts, person_of, random_hex};
use crate::service::register::{RegisterQuery, RegisterVerdict};

/// An enterprise with the caller's relation to it (and, for its representative, the agents).
#[derive(Debug, Clone)]
pub struct EnterpriseView {
    pub enterprise: Enterprise,
    pub relation: EnterpriseRelation,
    /// Listed for the legal representative only.
    pub agents: Vec<Agent>,
}

/// What registering an enterprise did.
#[derive(Debug, Clone)]
pub enum EnterpriseRegistration {
    /// The register confirmed the caller: the enterprise exists and they represent it.
    Registered(Enterprise),
    /// The register could not confirm the claim; a clerk will decide.
    Held(EnterpriseClaim),
}

/// Most claims a clerk's list shows at once.
pub const CLAIMS_PAGE: i64 = 200;

/// A clerk's decision on a held claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimDecision {
    Approve,
    Reject,
}

fn not_found() -> IdentityError {
    IdentityError::NotFound
}

impl Accounts {
    /// Claim to be the legal representative of an enterprise. Codes of government organs (USCC
    /// registration authority `1`) are never claimable by persons. The claim is checked against the
    /// enterprise register with the account's own name and resident ID (see
    /// [`crate::service::register`]): confirmed → the enterprise is created under the register's name;
    /// the register names someone else → [`IdentityError::RegisterMismatch`]; otherwise the claim is held
    /// for a clerk.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_enterprise(
        &self,
        session: &AuthSession,
        uscc: &str,
        name: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<EnterpriseRegistration, IdentityError> {
        let person = person_of(session)?;
        let uscc = Uscc::parse(uscc).map_err(|e| IdentityError::Invalid {
            field: "uscc",
            code: e.code(),
            message: e.to_string(),
        })?;
        // The first character is the registration authority; 1 is the organisation-establishment
        // office (机构编制), i.e. government organs, which no private person represents online.
        if uscc.as_str().starts_with('1') {
            return Err(IdentityError::Invalid {
                field: "uscc",
                code: "uscc_government_organ",
                message: "codes of government organs (starting with 1) cannot be registered here"
                    .to_owned(),
            });
        }
        let name = name.trim();
        if name.chars().count() < 2 || name.chars().count() > 100 {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "enterprise_name_invalid",
                message: "the enterprise name has 2–100 characters, as on its business licence"
                    .to_owned(),
            });
        }
        if ent_repo::uscc_taken(self.db.conn(), &uscc).await? {
            return Err(IdentityError::Duplicate { field: "uscc" });
        }
        if safety::pending_claim_exists(self.db.conn(), &uscc, person).await? {
            return Err(IdentityError::Invalid {
                field: "uscc",
                code: "enterprise_claim_pending",
                message: "your claim for this enterprise is waiting for a clerk's check".to_owned(),
            });
        }
        let profile = self.own_profile(session).await?;
        // Asked outside any transaction: the register may be slow or far away.
        let verdict = self
            .register
            .check(RegisterQuery {
                uscc: &uscc,
                name,
                representative_name: profile.person.name.as_str(),
                representative_id: &profile.resident_id,
            })
            .await;
        let public_id = random_hex(rng, 16);
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let actor = self.person_actor(&tx, person).await?;
        let register_note = match verdict {
            Ok(RegisterVerdict::Mismatch) => return Err(IdentityError::RegisterMismatch),
            Ok(RegisterVerdict::Confirmed {
                name: registered_name,
            }) => {
                if ent_repo::uscc_taken(&tx, &uscc).await? {
                    return Err(IdentityError::Duplicate { field: "uscc" });
                }
                ent_repo::insert_enterprise(&tx, &public_id, &uscc, &registered_name, person, now)
                    .await?;
                audit::append(
                    &tx,
                    now,
                    &AuditEvent::new(
                        &actor,
                        "enterprise.register",
                        format!("enterprise:{public_id}"),
                        &meta.ip,
                    )
                    .detail(json!({ "uscc": uscc.as_str(), "name": registered_name, "verified_by": "register" })),
                )
                .await?;
                let enterprise = ent_repo::enterprise_by_public_id(&tx, &public_id)
                    .await?
                    .ok_or_else(|| IdentityError::Corrupt("new enterprise not found".to_owned()))?;
                tx.commit().await.map_err(yiwang_db::DbError::from)?;
                return Ok(EnterpriseRegistration::Registered(enterprise));
            }
            Ok(RegisterVerdict::NotListed) => "not_listed".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "enterprise register unavailable; claim held for a clerk");
                "register_unavailable".to_owned()
            }
        };
        safety::insert_claim(&tx, &public_id, &uscc, name, person, &register_note, now).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "enterprise.claim_held",
                format!("enterprise_claim:{public_id}"),
                &meta.ip,
            )
            .detail(json!({ "uscc": uscc.as_str(), "name": name, "register": register_note })),
        )
        .await?;
        let claim = safety::claim_by_public_id(&tx, &public_id)
            .await?
            .ok_or_else(|| IdentityError::Corrupt("new claim not found".to_owned()))?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(EnterpriseRegistration::Held(claim))
    }

    /// The caller's own enterprise claims, newest first.
    pub async fn my_enterprise_claims(
        &self,
        session: &AuthSession,
    ) -> Result<Vec<EnterpriseClaim>, IdentityError> {
        let person = person_of(session)?;
        safety::claims_of_person(self.db.conn(), person, CLAIMS_PAGE).await
    }

    /// Claims waiting for a clerk, oldest first.
    pub async fn pending_enterprise_claims(
        &self,
        session: &AuthSession,
    ) -> Result<Vec<EnterpriseClaim>, IdentityError> {
        let principal = self.principal(Some(session)).await?;
        authorize(&principal, &Action::ReviewEnterpriseClaims)?;
        safety::pending_claims(self.db.conn(), CLAIMS_PAGE).await
    }

    /// A clerk decides a held claim after checking the licence and the person; approving creates the
    /// enterprise with the claimant as its legal representative. Authorised before the claim is looked
    /// up, so callers without the right learn nothing about which claims exist.
    #[tracing::instrument(skip_all, err)]
    pub async fn decide_enterprise_claim(
        &self,
        session: &AuthSession,
        claim_public_id: &str,
        decision: ClaimDecision,
        note: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<EnterpriseClaim, IdentityError> {
        let principal = self.principal(Some(session)).await?;
        authorize(&principal, &Action::ReviewEnterpriseClaims)?;
        let Principal::Staff(clerk) = &principal else {
            return Err(IdentityError::Forbidden);
        };
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(IdentityError::Invalid {
                field: "note",
                code: "note_too_long",
                message: "the note has at most 500 characters".to_owned(),
            });
        }
        let now = self.clock.now();
        let public_id = random_hex(rng, 16);
        let tx = self.db.begin().await?;
        let claim = safety::claim_by_public_id(&tx, claim_public_id)
            .await?
            .ok_or_else(not_found)?;
        let approve = decision == ClaimDecision::Approve;
        if approve && ent_repo::uscc_taken(&tx, &claim.uscc).await? {
            return Err(IdentityError::Duplicate { field: "uscc" });
        }
        if !safety::decide_claim(&tx, claim.id, approve, clerk.id, note, now).await? {
            return Err(IdentityError::Invalid {
                field: "claim",
                code: "enterprise_claim_decided",
                message: "this claim was already decided".to_owned(),
            });
        }
        let actor = format!("staff:{}", clerk.public_id);
        let mut detail =
            json!({ "claim": claim.public_id, "uscc": claim.uscc.as_str(), "note": note });
        if approve {
            ent_repo::insert_enterprise(
                &tx,
                &public_id,
                &claim.uscc,
                &claim.name,
                claim.person,
                now,
            )
            .await?;
            detail["enterprise"] = json!(public_id);
        }
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                if approve {
                    "enterprise.claim_approve"
                } else {
                    "enterprise.claim_reject"
                },
                format!("enterprise_claim:{}", claim.public_id),
                &meta.ip,
            )
            .detail(detail),
        )
        .await?;
        let decided = safety::claim_by_public_id(&tx, claim_public_id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(decided)
    }

    /// Whether an enterprise with this code is registered (for set-up code; reveals nothing else).
    pub async fn enterprise_registered(&self, uscc: &Uscc) -> Result<bool, IdentityError> {
        ent_repo::uscc_taken(self.db.conn(), uscc).await
    }

    /// Enterprises the caller represents or is an agent of.
    pub async fn my_enterprises(
        &self,
        session: &AuthSession,
    ) -> Result<Vec<(Enterprise, EnterpriseRelation)>, IdentityError> {
        let person = person_of(session)?;
        ent_repo::enterprises_of_person(self.db.conn(), person).await
    }

    /// The caller's enterprises as their account page shows them: the relation, and for those the
    /// caller represents, the live agents. One query for the list and one per represented enterprise
    /// (agents are listed to the representative only), instead of re-reading each enterprise.
    pub async fn my_enterprise_views(
        &self,
        session: &AuthSession,
    ) -> Result<Vec<EnterpriseView>, IdentityError> {
        let person = person_of(session)?;
        let conn = self.db.conn();
        let mut views = Vec::new();
        for (enterprise, relation) in ent_repo::enterprises_of_person(conn, person).await? {
            let agents = if relation == EnterpriseRelation::LegalRepresentative {
                ent_repo::live_agents(conn, enterprise.id)
                    .await?
                    .into_iter()
                    .map(|(_, agent)| agent)
                    .collect()
            } else {
                Vec::new()
            };
            views.push(EnterpriseView {
                enterprise,
                relation,
                agents,
            });
        }
        Ok(views)
    }

    /// An enterprise, for someone who may act for it.
    pub async fn enterprise(
        &self,
        session: Option<&AuthSession>,
        public_id: &str,
    ) -> Result<EnterpriseView, IdentityError> {
        let principal = self.principal(session).await?;
        let (enterprise, agents) = self.visible_enterprise(&principal, public_id).await?;
        let is_rep = principal == Principal::Person(enterprise.legal_representative);
        Ok(EnterpriseView {
            relation: if is_rep {
                EnterpriseRelation::LegalRepresentative
            } else {
                EnterpriseRelation::Agent
            },
            agents: if is_rep {
                agents.into_iter().map(|(_, a)| a).collect()
            } else {
                Vec::new()
            },
            enterprise,
        })
    }

    /// An enterprise the principal may act for, with its live agents. Anonymous callers are told to
    /// log in before anything is looked up; for everybody else an unknown enterprise is answered
    /// exactly like one they may not act for (403), so its existence is told only to those who may
    /// see it.
    async fn visible_enterprise(
        &self,
        principal: &Principal,
        public_id: &str,
    ) -> Result<(Enterprise, Vec<(PersonId, Agent)>), IdentityError> {
        if *principal == Principal::Anonymous {
            return Err(IdentityError::Unauthenticated);
        }
        let enterprise = ent_repo::enterprise_by_public_id(self.db.conn(), public_id)
            .await?
            .ok_or(IdentityError::Forbidden)?;
        let agents = ent_repo::live_agents(self.db.conn(), enterprise.id).await?;
        let agent_ids: Vec<PersonId> = agents.iter().map(|(id, _)| *id).collect();
        authorize(
            principal,
            &Action::ActForEnterprise {
                legal_representative: enterprise.legal_representative,
                agents: &agent_ids,
            },
        )?;
        Ok((enterprise, agents))
    }

    /// The representative authorises a registered person (found by mobile or resident ID) as an agent.
    #[tracing::instrument(skip_all, err)]
    pub async fn authorize_agent(
        &self,
        session: &AuthSession,
        enterprise_public_id: &str,
        agent_login: &str,
        meta: &ClientMeta,
    ) -> Result<Agent, IdentityError> {
        let principal = self.principal(Some(session)).await?;
        let (enterprise, _) = self
            .visible_enterprise(&principal, enterprise_public_id)
            .await?;
        authorize(
            &principal,
            &Action::ManageAgents {
                legal_representative: enterprise.legal_representative,
            },
        )?;
        let (column, index) = if let Ok(mobile) = Mobile::parse(agent_login) {
            (
                PersonIndex::Mobile,
                self.pii.blind_index(PiiField::Mobile, mobile.as_str()),
            )
        } else if let Ok(id) = ResidentId::parse(agent_login) {
            (
                PersonIndex::ResidentId,
                self.pii.blind_index(PiiField::ResidentId, id.as_str()),
            )
        } else {
            return Err(IdentityError::Invalid {
                field: "agent",
                code: "login_invalid",
                message: "enter the agent's mobile number or resident ID number".to_owned(),
            });
        };
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let agent =
            repo::person_by_index(&tx, column, &index)
                .await?
                .ok_or(IdentityError::Invalid {
                    field: "agent",
                    code: "agent_not_registered",
                    message: "the agent must first register a personal account".to_owned(),
                })?;
        if agent.person.id == enterprise.legal_representative {
            return Err(IdentityError::Invalid {
                field: "agent",
                code: "agent_is_representative",
                message: "the legal representative needs no authorisation".to_owned(),
            });
        }
        if !ent_repo::insert_agent(&tx, enterprise.id, agent.person.id, now).await? {
            return Err(IdentityError::Duplicate { field: "agent" });
        }
        let actor = self
            .person_actor(&tx, enterprise.legal_representative)
            .await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "enterprise.agent_authorize",
                format!("enterprise:{}", enterprise.public_id),
                &meta.ip,
            )
            .detail(json!({ "agent": agent.person.public_id })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(Agent {
            person_public_id: agent.person.public_id,
            name: agent.person.name,
            mobile_masked: agent.person.mobile_masked,
            granted_at: now,
        })
    }

    /// The representative revokes an agent; effective for the agent's very next request.
    #[tracing::instrument(skip_all, err)]
    pub async fn revoke_agent(
        &self,
        session: &AuthSession,
        enterprise_public_id: &str,
        agent_public_id: &str,
        meta: &ClientMeta,
    ) -> Result<(), IdentityError> {
        let principal = self.principal(Some(session)).await?;
        let (enterprise, _) = self
            .visible_enterprise(&principal, enterprise_public_id)
            .await?;
        authorize(
            &principal,
            &Action::ManageAgents {
                legal_representative: enterprise.legal_representative,
            },
        )?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let agent = repo::person_by_public_id(&tx, agent_public_id).await?;
        let revoked = match &agent {
            Some(agent) => ent_repo::revoke_agent(&tx, enterprise.id, agent.id, now).await?,
            None => false,
        };
        if !revoked {
            return Err(IdentityError::Invalid {
                field: "agent",
                code: "agent_not_found",
                message: "that person is not an agent of this enterprise".to_owned(),
            });
        }
        let actor = self
            .person_actor(&tx, enterprise.legal_representative)
            .await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "enterprise.agent_revoke",
                format!("enterprise:{}", enterprise.public_id),
                &meta.ip,
            )
            .detail(json!({ "agent": agent_public_id })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }

    async fn person_actor(
        &self,
        tx: &yiwang_db::DatabaseTransaction,
        person: PersonId,
    ) -> Result<String, IdentityError> {
        let row = repo::person_by_id(tx, person)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        Ok(format!("person:{}", row.person.public_id))
    }
}
