//! The one place that decides who may do what: role, department/region scope, ownership and agency.
//!
//! Services load the facts (who the caller is, which department or enterprise is concerned) and ask
//! [`authorize`]; they never decide on their own. An anonymous caller gets `Unauthenticated` (401), a known
//! caller without the right gets `Forbidden` (403).

use yiwang_kernel::RegionCode;

use crate::IdentityError;
use crate::model::{DepartmentId, PersonId, Role, StaffId};

/// Who is acting, with the facts the policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// The platform itself, acting through the command line (`yiwang admin …`) or demo set-up: it
    /// may set up departments' staff, nothing else.
    System,
    Person(PersonId),
    Staff(StaffPrincipal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPrincipal {
    pub id: StaffId,
    /// The id shown in audit entries (`staff:<public_id>`).
    pub public_id: String,
    pub department: DepartmentId,
    /// The region of the staff member's department (their scope as supervisor or auditor).
    pub region: RegionCode,
    pub roles: Vec<Role>,
}

impl StaffPrincipal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// How audit entries name this staff member.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.public_id)
    }
}

/// A department concerned by an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepartmentRef<'a> {
    pub id: DepartmentId,
    pub region: &'a RegionCode,
}

/// Something a principal wants to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read or change a person's own account (profile, sessions, password, enterprises).
    OwnAccount { person: PersonId },
    /// Look at a person's record as staff (always audited with a reason).
    ViewPersonRecord,
    /// Create staff and posts, change roles, in a department.
    /// `grants_wide_role`: the change gives or takes a role reaching beyond one department (platform admin,
    /// supervisor, auditor); `target`: the staff member whose roles change, if any.
    ManageStaff {
        department: DepartmentRef<'a>,
        grants_wide_role: bool,
        target: Option<StaffId>,
    },
    /// See a department's staff, posts and records.
    ViewDepartment { department: DepartmentRef<'a> },
    /// Authorise or revoke agents of an enterprise.
    ManageAgents { legal_representative: PersonId },
    /// Act for an enterprise (apply, follow its cases).
    ActForEnterprise {
        legal_representative: PersonId,
        agents: &'a [PersonId],
    },
    /// Create items of a department's catalog and draft new versions of them.
    EditCatalog { department: DepartmentId },
    /// Publish or send back a version drafted by `author` (never one's own).
    ReviewCatalog {
        department: DepartmentId,
        author: Option<StaffId>,
    },
    /// Import and export the whole catalog, maintain life events.
    ManageCatalog,
    /// Set up a department's appointment resources: halls and hospital departments, windows and
    /// doctors, opening hours, slots and release rules, queue categories.
    ManageSchedules { department: DepartmentId },
    /// Work a department's hall windows and desks: call, serve and transfer tickets, check bookings
    /// in, mark no-shows, read the day's bookings and queue statistics.
    OperateWindow { department: DepartmentId },
    /// Read a case: its applicant or someone acting for its enterprise; staff of a department working on
    /// it; supervisors and auditors over its region; platform administrators.
    ViewCase {
        applicant: PersonId,
        /// The legal representative and live agents, when the case is an enterprise's.
        enterprise: Option<(PersonId, &'a [PersonId])>,
        /// The lead department of the case.
        department: DepartmentRef<'a>,
        /// The staff member's department has (had) a task of the case.
        department_works_on_it: bool,
    },
    /// Act on a task of a case at a post (only staff holding the post).
    WorkOnCase { holds_post: bool },
    /// Register an application at a service-hall counter for a person.
    RegisterAtCounter,
    /// Approve or refuse the one extension of a case's decision limit (never one's own request).
    ApproveExtension {
        department: DepartmentId,
        requested_by: Option<StaffId>,
    },
    /// See the deadline-supervision lists (电子监察) of a region.
    SuperviseCases { region: &'a RegionCode },
    /// Check and decide claims to represent an enterprise that the enterprise register could not
    /// confirm.
    ReviewEnterpriseClaims,
}

/// Allow or refuse `action` for `principal`.
pub fn authorize(principal: &Principal, action: &Action<'_>) -> Result<(), IdentityError> {
    let allowed = match (principal, action) {
        (Principal::Anonymous, _) => return Err(IdentityError::Unauthenticated),
        (
            Principal::System,
            Action::ManageStaff { .. }
            | Action::ViewDepartment { .. }
            | Action::ManageCatalog
            // Demo and command-line set-up may create halls and schedules.
            | Action::ManageSchedules { .. },
        ) => true,
        (Principal::Person(me), Action::OwnAccount { person }) => me == person,
        (
            Principal::Person(me),
            Action::ManageAgents {
                legal_representative,
            },
        ) => me == legal_representative,
        (
            Principal::Person(me),
            Action::ActForEnterprise {
                legal_representative,
                agents,
            },
        ) => me == legal_representative || agents.contains(me),
        (Principal::Staff(staff), Action::ViewPersonRecord) => [
            Role::WindowStaff,
            Role::Approver,
            Role::Supervisor,
            Role::Auditor,
            Role::HotlineOperator,
            Role::GridWorker,
        ]
        .into_iter()
        .any(|role| staff.has(role)),
        (
            Principal::Staff(staff),
            Action::ManageStaff {
                department,
                grants_wide_role,
                target,
            },
        ) => {
            if *target == Some(staff.id) {
                // Nobody changes their own roles.
                false
            } else if staff.has(Role::PlatformAdmin) {
                true
            } else {
                // A department administrator manages their own department only, and grants only roles
                // that stay inside it.
                staff.has(Role::DepartmentAdmin)
                    && staff.department == department.id
                    && !grants_wide_role
            }
        }
        (Principal::Staff(staff), Action::ViewDepartment { department }) => {
            staff.department == department.id
                || staff.has(Role::PlatformAdmin)
                || ((staff.has(Role::Supervisor) || staff.has(Role::Auditor))
                    && staff.region.contains(department.region))
        }
        // The department's administrators and approvers keep its items up to date; platform
        // administrators every department's.
        (Principal::Staff(staff), Action::EditCatalog { department }) => {
            staff.has(Role::PlatformAdmin)
                || (staff.department == *department
                    && (staff.has(Role::DepartmentAdmin) || staff.has(Role::Approver)))
        }
        // A second person reviews: a department administrator of the same department, or a platform
        // administrator; never the author.
        (Principal::Staff(staff), Action::ReviewCatalog { department, author }) => {
            *author != Some(staff.id)
                && (staff.has(Role::PlatformAdmin)
                    || (staff.department == *department && staff.has(Role::DepartmentAdmin)))
        }
        (Principal::Staff(staff), Action::ManageCatalog) => staff.has(Role::PlatformAdmin),
        // The department's administrators set up its halls, doctors and opening hours; platform
        // administrators every department's.
        (Principal::Staff(staff), Action::ManageSchedules { department }) => {
            staff.has(Role::PlatformAdmin)
                || (staff.department == *department && staff.has(Role::DepartmentAdmin))
        }
        // Window staff (and administrators) of the department work its windows and desks.
        (Principal::Staff(staff), Action::OperateWindow { department }) => {
            staff.has(Role::PlatformAdmin)
                || (staff.department == *department
                    && (staff.has(Role::WindowStaff) || staff.has(Role::DepartmentAdmin)))
        }
        (
            Principal::Person(me),
            Action::ViewCase {
                applicant,
                enterprise,
                ..
            },
        ) => {
            me == applicant
                || enterprise.is_some_and(|(representative, agents)| {
                    *me == representative || agents.contains(me)
                })
        }
        (
            Principal::Staff(staff),
            Action::ViewCase {
                department,
                department_works_on_it,
                ..
            },
        ) => {
            staff.department == department.id
                || *department_works_on_it
                || staff.has(Role::PlatformAdmin)
                || ((staff.has(Role::Supervisor) || staff.has(Role::Auditor))
                    && staff.region.contains(department.region))
        }
        (Principal::Staff(_), Action::WorkOnCase { holds_post }) => *holds_post,
        (Principal::Staff(staff), Action::RegisterAtCounter) => staff.has(Role::WindowStaff),
        // Clerks at a counter compare the licence and the person; administrators oversee them.
        (Principal::Staff(staff), Action::ReviewEnterpriseClaims) => {
            staff.has(Role::WindowStaff)
                || staff.has(Role::DepartmentAdmin)
                || staff.has(Role::PlatformAdmin)
        }
        (
            Principal::Staff(staff),
            Action::ApproveExtension {
                department,
                requested_by,
            },
        ) => {
            *requested_by != Some(staff.id)
                && staff.department == *department
                && staff.has(Role::DepartmentAdmin)
        }
        (Principal::Staff(staff), Action::SuperviseCases { region }) => {
            staff.has(Role::PlatformAdmin)
                || ((staff.has(Role::Supervisor) || staff.has(Role::Auditor))
                    && staff.region.contains(region))
        }
        // Persons never act on departments or other people's records; staff never act for enterprises
        // or on personal accounts through these actions.
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(IdentityError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(department: i64, region: &str, roles: &[Role]) -> Principal {
        Principal::Staff(StaffPrincipal {
            id: StaffId::new(department * 100),
            public_id: format!("s{department}"),
            department: DepartmentId::new(department),
            region: RegionCode::parse(region).unwrap(),
            roles: roles.to_vec(),
        })
    }

    #[test]
    fn decides_by_role_scope_ownership_and_agency() {
        let hefei = RegionCode::parse("340100").unwrap();
        let shushan = RegionCode::parse("340104").unwrap();
        let kangbashi = RegionCode::parse("150603").unwrap();
        let dept_x = DepartmentRef {
            id: DepartmentId::new(1),
            region: &hefei,
        };
        let dept_y = DepartmentRef {
            id: DepartmentId::new(2),
            region: &shushan,
        };
        let dept_z = DepartmentRef {
            id: DepartmentId::new(3),
            region: &kangbashi,
        };
        let a = PersonId::new(10);
        let b = PersonId::new(11);

        assert!(matches!(
            authorize(&Principal::Anonymous, &Action::OwnAccount { person: a }),
            Err(IdentityError::Unauthenticated)
        ));
        assert!(authorize(&Principal::Person(a), &Action::OwnAccount { person: a }).is_ok());
        assert!(matches!(
            authorize(&Principal::Person(a), &Action::OwnAccount { person: b }),
            Err(IdentityError::Forbidden)
        ));

        let admin_x = staff(1, "340100", &[Role::DepartmentAdmin]);
        assert!(
            authorize(
                &admin_x,
                &Action::ManageStaff {
                    department: dept_x,
                    grants_wide_role: false,
                    target: None
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &admin_x,
                &Action::ManageStaff {
                    department: dept_y,
                    grants_wide_role: false,
                    target: None
                }
            )
            .is_err(),
            "other department"
        );
        assert!(
            authorize(
                &admin_x,
                &Action::ManageStaff {
                    department: dept_x,
                    grants_wide_role: true,
                    target: None
                }
            )
            .is_err()
        );
        let platform = staff(9, "340100", &[Role::PlatformAdmin]);
        assert!(
            authorize(
                &platform,
                &Action::ManageStaff {
                    department: dept_z,
                    grants_wide_role: true,
                    target: None
                }
            )
            .is_ok()
        );

        let self_change = Action::ManageStaff {
            department: dept_x,
            grants_wide_role: false,
            target: Some(StaffId::new(100)),
        };
        assert!(
            authorize(&admin_x, &self_change).is_err(),
            "no changing one's own roles"
        );
        let window_x = staff(1, "340100", &[Role::WindowStaff]);
        assert!(authorize(&window_x, &Action::ViewDepartment { department: dept_x }).is_ok());
        assert!(
            authorize(&window_x, &Action::ViewDepartment { department: dept_y }).is_err(),
            "staff of X cannot see Y"
        );
        assert!(
            authorize(
                &window_x,
                &Action::ManageStaff {
                    department: dept_x,
                    grants_wide_role: false,
                    target: None
                }
            )
            .is_err()
        );
        let supervisor = staff(9, "340100", &[Role::Supervisor]);
        assert!(
            authorize(&supervisor, &Action::ViewDepartment { department: dept_y }).is_ok(),
            "region scope"
        );
        assert!(
            authorize(&supervisor, &Action::ViewDepartment { department: dept_z }).is_err(),
            "outside the region"
        );

        assert!(authorize(&window_x, &Action::ViewPersonRecord).is_ok());
        assert!(
            authorize(&admin_x, &Action::ViewPersonRecord).is_err(),
            "administration is not case work"
        );
        assert!(authorize(&Principal::Person(a), &Action::ViewPersonRecord).is_err());

        let agents = [b];
        assert!(
            authorize(
                &Principal::Person(a),
                &Action::ActForEnterprise {
                    legal_representative: a,
                    agents: &[]
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &Principal::Person(b),
                &Action::ActForEnterprise {
                    legal_representative: a,
                    agents: &agents
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &Principal::Person(b),
                &Action::ActForEnterprise {
                    legal_representative: a,
                    agents: &[]
                }
            )
            .is_err(),
            "revoked agent"
        );
        assert!(
            authorize(
                &Principal::Person(b),
                &Action::ManageAgents {
                    legal_representative: a
                }
            )
            .is_err(),
            "agents cannot add agents"
        );
        assert!(
            authorize(
                &window_x,
                &Action::ActForEnterprise {
                    legal_representative: a,
                    agents: &agents
                }
            )
            .is_err()
        );
    }
}
