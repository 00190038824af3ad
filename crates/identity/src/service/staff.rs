//! Staff: log-in, the principal behind a session, and administration (staff, posts, roles) scoped by
//! the policy. A staff member looking at a person's record gives a reason, which is audited.

use rand::CryptoRng;
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::RegionCode;

use crate::IdentityError;
use crate::model::{
    Account, AuthSession, ClientMeta, Department, NewStaff, Person, Post, PostInput, Role, Staff,
};
use crate::password;
use crate::pii::PiiField;
use crate::policy::{Action, DepartmentRef, Principal, StaffPrincipal, authorize};
use crate::repo::{self, staff as staff_repo};
use crate::service::account::{Accounts, LoginAttempt, random_hex, verify_off_thread};

/// A staff log-in (the same session machinery as persons).
#[derive(Debug, Clone)]
pub struct StaffLoggedIn {
    pub staff: Staff,
    pub token: String,
    pub session: AuthSession,
}

fn region_of(code: &str) -> Result<RegionCode, IdentityError> {
    RegionCode::parse(code).map_err(|e| IdentityError::Corrupt(format!("region code: {e}")))
}

impl Accounts {
    /// Who is behind a session (or nobody), with the facts the policy needs.
    pub async fn principal(
        &self,
        session: Option<&AuthSession>,
    ) -> Result<Principal, IdentityError> {
        match session.map(|s| s.account) {
            None => Ok(Principal::Anonymous),
            Some(Account::Person(id)) => Ok(Principal::Person(id)),
            Some(Account::Staff(id)) => {
                let staff = staff_repo::staff_by_id(self.db.conn(), id)
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                Ok(Principal::Staff(StaffPrincipal {
                    id,
                    public_id: staff.public_id,
                    department: staff.department_id,
                    region: region_of(&staff.region_code)?,
                    roles: staff.roles,
                }))
            }
        }
    }

    /// The staff member behind a session.
    pub async fn staff(&self, session: &AuthSession) -> Result<Staff, IdentityError> {
        match session.account {
            Account::Staff(id) => staff_repo::staff_by_id(self.db.conn(), id)
                .await?
                .ok_or(IdentityError::Unauthenticated),
            Account::Person(_) => Err(IdentityError::Forbidden),
        }
    }

    /// Staff log in with their employee number (工号) and password; same lock-out rules as persons.
    #[tracing::instrument(skip_all, err)]
    pub async fn staff_login(
        &self,
        employee_no: &str,
        password: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<StaffLoggedIn, IdentityError> {
        let now = self.clock.now();
        let employee_no = employee_no.trim().to_ascii_uppercase();
        // As for persons: the password is checked first, off the runtime and outside any transaction.
        let subject = format!("staff:{employee_no}");
        self.throttle_wait(&subject, &meta.ip, now).await?;
        let found = staff_repo::credentials_by_employee_no(self.db.conn(), &employee_no).await?;
        let stored = found
            .as_ref()
            .map_or_else(|| self.dummy_hash.to_string(), |f| f.password_hash.clone());
        let matches = verify_off_thread(password, stored).await;
        let Some(found) = found else {
            return Err(self.unknown_login_failed(&subject, meta, now).await);
        };
        let resource = format!("staff:{}", found.staff.public_id);
        let (session, token) = self
            .finish_login(
                LoginAttempt {
                    account: Account::Staff(found.staff.id),
                    subject: &subject,
                    resource: &resource,
                    locked_until: found.locked_until,
                    active: found.staff.status == crate::model::AccountStatus::Active,
                    password_matches: matches,
                },
                meta,
                rng,
                now,
            )
            .await?;
        Ok(StaffLoggedIn {
            staff: found.staff,
            token,
            session,
        })
    }

    async fn department(&self, code: &str) -> Result<Department, IdentityError> {
        repo::department_by_code(self.db.conn(), code)
            .await?
            .ok_or_else(|| IdentityError::DepartmentNotFound(code.to_owned()))
    }

    /// Staff and posts of a department, for those who may see it.
    pub async fn department_staff(
        &self,
        principal: &Principal,
        department_code: &str,
    ) -> Result<(Vec<Staff>, Vec<Post>), IdentityError> {
        let department = self.department(department_code).await?;
        authorize(
            principal,
            &Action::ViewDepartment {
                department: DepartmentRef {
                    id: department.id,
                    region: &department.region_code,
                },
            },
        )?;
        let staff = staff_repo::staff_of_department(self.db.conn(), department.id).await?;
        let posts = staff_repo::posts_of_department(self.db.conn(), department.id).await?;
        Ok((staff, posts))
    }

    /// Whether the principal may manage staff and posts of a department (to offer the forms).
    pub async fn may_manage_staff(
        &self,
        principal: &Principal,
        department_code: &str,
    ) -> Result<bool, IdentityError> {
        let department = self.department(department_code).await?;
        match authorize(
            principal,
            &Action::ManageStaff {
                department: DepartmentRef {
                    id: department.id,
                    region: &department.region_code,
                },
                grants_wide_role: false,
                target: None,
            },
        ) {
            Ok(()) => Ok(true),
            Err(IdentityError::Forbidden | IdentityError::Unauthenticated) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The departments a principal may look into, in region order.
    pub async fn visible_departments(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Department>, IdentityError> {
        let all = repo::list_departments(self.db.conn(), "").await?;
        Ok(all
            .into_iter()
            .filter(|d| {
                authorize(
                    principal,
                    &Action::ViewDepartment {
                        department: DepartmentRef {
                            id: d.id,
                            region: &d.region_code,
                        },
                    },
                )
                .is_ok()
            })
            .collect())
    }

    /// Create a post in a department.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_post(
        &self,
        principal: &Principal,
        actor: &str,
        department_code: &str,
        input: &PostInput,
        meta: &ClientMeta,
    ) -> Result<Post, IdentityError> {
        let department = self.department(department_code).await?;
        authorize(
            principal,
            &Action::ManageStaff {
                department: DepartmentRef {
                    id: department.id,
                    region: &department.region_code,
                },
                grants_wide_role: false,
                target: None,
            },
        )?;
        let code = input.code.trim().to_ascii_lowercase();
        if code.is_empty()
            || code.len() > 40
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(IdentityError::Invalid {
                field: "code",
                code: "post_code_invalid",
                message: "a post code has 1–40 letters, digits, '-' or '_'".to_owned(),
            });
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "post_name_invalid",
                message: "a post name has 1–60 characters".to_owned(),
            });
        }
        let duties = input.duties.trim();
        if duties.is_empty() || duties.chars().count() > 500 {
            return Err(IdentityError::Invalid {
                field: "duties",
                code: "post_duties_invalid",
                message: "state the post's duties (up to 500 characters)".to_owned(),
            });
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = staff_repo::insert_post(&tx, department.id, &code, name, duties, now)
            .await?
            .ok_or(IdentityError::Duplicate { field: "code" })?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor,
                "post.create",
                format!("department:{}", department.code),
                &meta.ip,
            )
            .detail(json!({ "post": code, "name": name })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(Post {
            id,
            code,
            name: name.to_owned(),
            duties: duties.to_owned(),
        })
    }

    /// Create a staff member in a department, with roles and posts of that department.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_staff(
        &self,
        principal: &Principal,
        actor: &str,
        department_code: &str,
        new: &NewStaff,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Staff, IdentityError> {
        let department = self.department(department_code).await?;
        let grants_wide_role = new.roles.iter().any(|r| r.is_wide());
        authorize(
            principal,
            &Action::ManageStaff {
                department: DepartmentRef {
                    id: department.id,
                    region: &department.region_code,
                },
                grants_wide_role,
                target: None,
            },
        )?;
        let posts = staff_repo::posts_of_department(self.db.conn(), department.id).await?;
        let mut post_ids = Vec::new();
        for code in &new.posts {
            let post =
                posts
                    .iter()
                    .find(|p| &p.code == code)
                    .ok_or_else(|| IdentityError::Invalid {
                        field: "posts",
                        code: "post_unknown",
                        message: format!("the department has no post {code:?}"),
                    })?;
            post_ids.push(post.id);
        }
        let mobile_index = self.pii.blind_index(PiiField::Mobile, new.mobile.as_str());
        let public_id = random_hex(rng, 16);
        let mobile_enc = self.pii.seal(PiiField::Mobile, new.mobile.as_str(), rng);
        let password_hash = password::hash(&new.password, self.cost, rng).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if let Some(field) =
            staff_repo::employee_no_or_mobile_taken(&tx, &new.employee_no, &mobile_index).await?
        {
            return Err(IdentityError::Duplicate { field });
        }
        let id = staff_repo::insert_staff(
            &tx,
            &staff_repo::NewStaffRow {
                public_id: &public_id,
                department_id: department.id,
                employee_no: &new.employee_no,
                name: new.name.as_str(),
                mobile_enc: &mobile_enc,
                mobile_index: &mobile_index,
                mobile_masked: &new.mobile.masked(),
                password_hash: &password_hash,
            },
            now,
        )
        .await?;
        staff_repo::set_roles(&tx, id, &new.roles).await?;
        staff_repo::set_posts(&tx, id, &post_ids).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor,
                "staff.create",
                format!("staff:{public_id}"),
                &meta.ip,
            )
            .detail(json!({
                "department": department.code,
                "employee_no": new.employee_no,
                "roles": new.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                "posts": new.posts,
            })),
        )
        .await?;
        let staff = staff_repo::staff_by_id(&tx, id)
            .await?
            .ok_or_else(|| IdentityError::Corrupt("new staff not found".to_owned()))?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(staff)
    }

    /// Replace a staff member's roles.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_staff_roles(
        &self,
        principal: &Principal,
        actor: &str,
        staff_public_id: &str,
        roles: &[Role],
        meta: &ClientMeta,
    ) -> Result<Staff, IdentityError> {
        let target = staff_repo::staff_by_public_id(self.db.conn(), staff_public_id)
            .await?
            .ok_or(IdentityError::Invalid {
                field: "staff",
                code: "staff_not_found",
                message: "no such staff member".to_owned(),
            })?;
        let region = region_of(&target.region_code)?;
        // Wide roles count whether given or taken away.
        let grants_wide_role = roles.iter().chain(&target.roles).any(|r| r.is_wide());
        authorize(
            principal,
            &Action::ManageStaff {
                department: DepartmentRef {
                    id: target.department_id,
                    region: &region,
                },
                grants_wide_role,
                target: Some(target.id),
            },
        )?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        staff_repo::set_roles(&tx, target.id, &roles).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor,
                "staff.set_roles",
                format!("staff:{}", target.public_id),
                &meta.ip,
            )
            .detail(json!({
                "before": target.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                "after": roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
            })),
        )
        .await?;
        let staff = staff_repo::staff_by_id(&tx, target.id)
            .await?
            .ok_or_else(|| IdentityError::Corrupt("staff vanished".to_owned()))?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(staff)
    }

    /// A staff member looks at a person's record, giving the reason; the look is audited (who looked at
    /// whom, why). Identifiers stay masked.
    #[tracing::instrument(skip_all, err)]
    pub async fn view_person(
        &self,
        principal: &Principal,
        actor: &str,
        person_public_id: &str,
        reason: &str,
        meta: &ClientMeta,
    ) -> Result<Person, IdentityError> {
        authorize(principal, &Action::ViewPersonRecord)?;
        let reason = reason.trim();
        let chars = reason.chars().count();
        if !(4..=200).contains(&chars) {
            return Err(IdentityError::Invalid {
                field: "reason",
                code: "view_reason_required",
                message: "give the reason for looking at this record (4–200 characters)".to_owned(),
            });
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let person = repo::person_by_public_id(&tx, person_public_id)
            .await?
            .ok_or(IdentityError::Invalid {
                field: "person",
                code: "person_not_found",
                message: "no such person".to_owned(),
            })?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor,
                "person.view",
                format!("person:{}", person.public_id),
                &meta.ip,
            )
            .detail(json!({ "reason": reason })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(person)
    }
}

/// The audit actor for a staff principal.
pub fn staff_actor(staff: &Staff) -> String {
    format!("staff:{}", staff.public_id)
}
