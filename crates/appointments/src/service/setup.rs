//! Setting up halls and hospital departments (staff with `ManageSchedules`): groups, policies, resources, schedules and slot generation.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use serde_json::json;
use yiwang_identity::Department;
use yiwang_identity::policy::{Action, Principal, authorize};

use crate::error::AppointmentError;
use crate::model::{
    BookingPolicy, Group, GroupId, GroupKind, NewGroup, NewResource, Resource, ResourceId,
    ResourceKind, Schedule,
};
use crate::repo::{self};

use super::{
    Appointments, MAX_DAYS, Origin, ResourceUpdate, Result, actor, audit_entry, check_code,
    check_name, commit, invalid, rollback,
};

impl Appointments {
    // ----- set-up (staff with ManageSchedules) -----

    /// Create a hall or hospital department of a department.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_group(
        &self,
        principal: &Principal,
        department: &Department,
        new: &NewGroup,
        origin: &Origin,
    ) -> Result<Group> {
        authorize(
            principal,
            &Action::ManageSchedules {
                department: department.id,
            },
        )?;
        let new = NewGroup {
            code: new.code.trim().to_owned(),
            name: new.name.trim().to_owned(),
            address: new.address.trim().to_owned(),
            ..new.clone()
        };
        check_code("code", &new.code)?;
        check_name("name", &new.name)?;
        let policy = new
            .policy
            .clone()
            .unwrap_or_else(|| BookingPolicy::for_kind(new.kind));
        let problems = policy.problems();
        if !problems.is_empty() {
            return Err(AppointmentError::Invalid(problems));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_group(&tx, &new, department.id, &policy, now).await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.group.create",
            &format!("appt_group:{}", new.code),
            origin,
            json!({ "kind": new.kind.code(), "department": department.code }),
        )
        .await?;
        let group = repo::group_by_id(&tx, id)
            .await?
            .ok_or(AppointmentError::GroupNotFound)?;
        commit(tx).await?;
        Ok(group)
    }

    pub(super) async fn managed_group(&self, principal: &Principal, id: GroupId) -> Result<Group> {
        let group = self.group(id).await?;
        authorize(
            principal,
            &Action::ManageSchedules {
                department: group.department_id,
            },
        )?;
        Ok(group)
    }

    /// Replace a group's booking and queue rules. Days not yet released move to the new release time.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_policy(
        &self,
        principal: &Principal,
        group: GroupId,
        policy: &BookingPolicy,
        origin: &Origin,
    ) -> Result<Group> {
        let group = self.managed_group(principal, group).await?;
        let problems = policy.problems();
        if !problems.is_empty() {
            return Err(AppointmentError::Invalid(problems));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_policy(&tx, group.id, policy, now).await?;
        for day in repo::unreleased_days(&tx, group.id, now).await? {
            let release_at = policy.release.release_at(day, &self.calendar);
            repo::set_release_at(&tx, group.id, day, release_at, now).await?;
        }
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.group.policy",
            &format!("appt_group:{}", group.code),
            origin,
            serde_json::to_value(policy).unwrap_or_default(),
        )
        .await?;
        commit(tx).await?;
        Ok(Group {
            policy: policy.clone(),
            ..group
        })
    }

    /// Add a window (hall) or doctor (hospital department).
    #[tracing::instrument(skip_all, err)]
    pub async fn add_resource(
        &self,
        principal: &Principal,
        group: GroupId,
        new: &NewResource,
        origin: &Origin,
    ) -> Result<Resource> {
        let group = self.managed_group(principal, group).await?;
        let new = NewResource {
            code: new.code.trim().to_owned(),
            name: new.name.trim().to_owned(),
            title: new.title.trim().to_owned(),
            ..new.clone()
        };
        check_code("code", &new.code)?;
        check_name("name", &new.name)?;
        self.check_categories(group.id, &new.categories).await?;
        let kind = new.kind.unwrap_or(match group.kind {
            GroupKind::Hall => ResourceKind::Window,
            GroupKind::HospitalDepartment => ResourceKind::Doctor,
        });
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_resource(&tx, group.id, kind, &new, now).await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.create",
            &format!("appt_resource:{id}"),
            origin,
            json!({ "group": group.code, "code": new.code, "kind": kind.code() }),
        )
        .await?;
        let resource = repo::resource_by_id(&tx, id)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        commit(tx).await?;
        Ok(resource)
    }

    pub(super) async fn check_categories(&self, group: GroupId, codes: &[String]) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let known = repo::categories_of(self.db.conn(), group).await?;
        match codes
            .iter()
            .find(|code| !known.iter().any(|c| &c.code == *code))
        {
            Some(missing) => Err(invalid(
                "categories",
                "queue_category_not_found",
                &format!("no queue category {missing}"),
            )),
            None => Ok(()),
        }
    }

    pub(super) async fn managed_resource(
        &self,
        principal: &Principal,
        id: ResourceId,
    ) -> Result<(Group, Resource)> {
        let resource = repo::resource_by_id(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        let group = self.managed_group(principal, resource.group_id).await?;
        Ok((group, resource))
    }

    /// Set (or remove, with `None`) a resource's opening hours. Slots already generated stay.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_schedule(
        &self,
        principal: &Principal,
        resource: ResourceId,
        schedule: Option<&Schedule>,
        origin: &Origin,
    ) -> Result<Resource> {
        let (_, resource) = self.managed_resource(principal, resource).await?;
        if let Some(schedule) = schedule {
            let problems = schedule.problems();
            if !problems.is_empty() {
                return Err(AppointmentError::Invalid(problems));
            }
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_resource(
            &tx,
            resource.id,
            schedule,
            &resource.categories,
            &resource.items,
            resource.active,
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.schedule",
            &format!("appt_resource:{}", resource.id),
            origin,
            serde_json::to_value(schedule).unwrap_or_default(),
        )
        .await?;
        commit(tx).await?;
        Ok(Resource {
            schedule: schedule.cloned(),
            ..resource
        })
    }

    /// Change the items a window handles, the queue categories it calls, and whether it is in use.
    #[tracing::instrument(skip_all, err)]
    pub async fn update_resource(
        &self,
        principal: &Principal,
        resource: ResourceId,
        update: &ResourceUpdate,
        origin: &Origin,
    ) -> Result<Resource> {
        let (group, resource) = self.managed_resource(principal, resource).await?;
        self.check_categories(group.id, &update.categories).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_resource(
            &tx,
            resource.id,
            resource.schedule.as_ref(),
            &update.categories,
            &update.items,
            update.active,
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.update",
            &format!("appt_resource:{}", resource.id),
            origin,
            json!({ "items": update.items, "categories": update.categories, "active": update.active }),
        )
        .await?;
        commit(tx).await?;
        Ok(Resource {
            items: update.items.clone(),
            categories: update.categories.clone(),
            active: update.active,
            ..resource
        })
    }

    /// Create the slots of the group's resources from their schedules for today and the next `days`
    /// days (working-day calendar), each with its release time. Existing slots are kept, so running
    /// it again only fills gaps. Returns how many slots were created.
    #[tracing::instrument(skip_all, err)]
    pub async fn generate_slots(
        &self,
        principal: &Principal,
        group: GroupId,
        days: u32,
        origin: &Origin,
    ) -> Result<usize> {
        let group = self.managed_group(principal, group).await?;
        if days > MAX_DAYS {
            return Err(invalid(
                "days",
                "appt_too_many_days",
                "slots are generated at most 62 days ahead",
            ));
        }
        let today = self.today();
        let until = today + Duration::days(i64::from(days));
        self.generate(&group, today, until, false, &actor(principal), origin)
            .await
    }

    /// Create missing slots from `from` to `until`. With `missing_days_only`, a resource's day that
    /// has any slot is left alone, so the periodic run reads and writes nothing once a day exists.
    pub(super) async fn generate(
        &self,
        group: &Group,
        from: NaiveDate,
        until: NaiveDate,
        missing_days_only: bool,
        actor: &str,
        origin: &Origin,
    ) -> Result<usize> {
        let conn = self.db.conn();
        let resources = repo::resources_of(conn, group.id).await?;
        let existing: HashSet<(ResourceId, NaiveDate)> = if missing_days_only {
            repo::slot_days(conn, group.id, from, until)
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let mut planned = Vec::new();
        let mut day = from;
        while day <= until {
            for resource in resources.iter().filter(|r| r.active) {
                let Some(schedule) = &resource.schedule else {
                    continue;
                };
                if existing.contains(&(resource.id, day)) {
                    continue;
                }
                for (starts_at, ends_at) in schedule.slots_on(day, &self.calendar) {
                    planned.push((resource.id, day, starts_at, ends_at, schedule.capacity));
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        if planned.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut created = 0;
        for (resource, day, starts_at, ends_at, capacity) in planned {
            let release_at = group.policy.release.release_at(day, &self.calendar);
            if repo::insert_slot_if_absent(
                &tx, resource, group.id, day, starts_at, ends_at, release_at, capacity, now,
            )
            .await?
            {
                created += 1;
            }
        }
        if created == 0 {
            rollback(tx).await;
            return Ok(0);
        }
        audit_entry(
            &tx,
            now,
            actor,
            "appointment.slots.generate",
            &format!("appt_group:{}", group.code),
            origin,
            json!({ "from": from.to_string(), "until": until.to_string(), "created": created }),
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }
}
