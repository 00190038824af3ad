//! Enterprises: a person registers an enterprise they legally represent and authorises agents (other
//! registered persons) to act for it; a revoked agent loses access at once.

use rand::CryptoRng;
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::{Mobile, ResidentId, Uscc};

use crate::IdentityError;
use crate::model::{Agent, AuthSession, ClientMeta, Enterprise, EnterpriseRelation, PersonId};
use crate::pii::PiiField;
use crate::policy::{Action, Principal, authorize};
use crate::repo::{self, PersonIndex, enterprise as ent_repo};
use crate::service::account::{Accounts, person_of, random_hex};

/// An enterprise with the caller's relation to it (and, for its representative, the agents).
#[derive(Debug, Clone)]
pub struct EnterpriseView {
    pub enterprise: Enterprise,
    pub relation: EnterpriseRelation,
    /// Listed for the legal representative only.
    pub agents: Vec<Agent>,
}

impl Accounts {
    /// Register an enterprise; the caller becomes its legal representative.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_enterprise(
        &self,
        session: &AuthSession,
        uscc: &str,
        name: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Enterprise, IdentityError> {
        let person = person_of(session)?;
        let uscc = Uscc::parse(uscc).map_err(|e| IdentityError::Invalid {
            field: "uscc",
            code: e.code(),
            message: e.to_string(),
        })?;
        let name = name.trim();
        if name.chars().count() < 2 || name.chars().count() > 100 {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "enterprise_name_invalid",
                message: "the enterprise name has 2–100 characters, as on its business licence"
                    .to_owned(),
            });
        }
        let public_id = random_hex(rng, 16);
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if ent_repo::uscc_taken(&tx, &uscc).await? {
            return Err(IdentityError::Duplicate { field: "uscc" });
        }
        ent_repo::insert_enterprise(&tx, &public_id, &uscc, name, person, now).await?;
        let actor = self.person_actor(&tx, person).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "enterprise.register",
                format!("enterprise:{public_id}"),
                &meta.ip,
            )
            .detail(json!({ "uscc": uscc.as_str(), "name": name })),
        )
        .await?;
        let enterprise = ent_repo::enterprise_by_public_id(&tx, &public_id)
            .await?
            .ok_or_else(|| IdentityError::Corrupt("new enterprise not found".to_owned()))?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(enterprise)
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
        // An unknown enterprise is answered like one the caller may not act for, so that its
        // existence is told only to those who may see it.
        let Some(enterprise) = ent_repo::enterprise_by_public_id(self.db.conn(), public_id).await?
        else {
            return Err(if principal == Principal::Anonymous {
                IdentityError::Unauthenticated
            } else {
                IdentityError::Forbidden
            });
        };
        let agents = ent_repo::live_agents(self.db.conn(), enterprise.id).await?;
        let agent_ids: Vec<PersonId> = agents.iter().map(|(id, _)| *id).collect();
        authorize(
            &principal,
            &Action::ActForEnterprise {
                legal_representative: enterprise.legal_representative,
                agents: &agent_ids,
            },
        )?;
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
        let enterprise = ent_repo::enterprise_by_public_id(self.db.conn(), enterprise_public_id)
            .await?
            .ok_or(IdentityError::Invalid {
                field: "enterprise",
                code: "enterprise_not_found",
                message: "no such enterprise".to_owned(),
            })?;
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
        let enterprise = ent_repo::enterprise_by_public_id(self.db.conn(), enterprise_public_id)
            .await?
            .ok_or(IdentityError::Invalid {
                field: "enterprise",
                code: "enterprise_not_found",
                message: "no such enterprise".to_owned(),
            })?;
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
