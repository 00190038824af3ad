//! The identity data other domains read: the cross-domain boundary.
//!
//! A case, a booking or the demo loader reads people, staff and enterprises through these functions,
//! never through [`repo`](crate::repo) (whose rows carry sealed identifiers and password hashes and may
//! change shape). Each takes any connection, so a caller reads inside its own open transaction: on
//! SQLite a transaction that waited for a second pooled connection while holding the write lock would
//! starve the pool.

use yiwang_db::ConnectionTrait;
use yiwang_kernel::{Mobile, ResidentId};

use crate::IdentityError;
use crate::model::{
    Enterprise, EnterpriseId, EnterpriseRelation, Person, PersonId, Staff, StaffId,
};
use crate::pii::{PiiField, PiiProtector};
use crate::repo::{self, PersonIndex};

/// A person's masked view (name, masked identifiers, status).
pub async fn person_in<C: ConnectionTrait>(
    conn: &C,
    id: PersonId,
) -> Result<Option<Person>, IdentityError> {
    Ok(repo::person_by_id(conn, id).await?.map(|row| row.person))
}

/// The registered person with this resident ID, if any (window staff serve applicants this way).
pub async fn person_by_resident_id_in<C: ConnectionTrait>(
    conn: &C,
    pii: &PiiProtector,
    resident_id: &ResidentId,
) -> Result<Option<Person>, IdentityError> {
    let index = pii.blind_index(PiiField::ResidentId, resident_id.as_str());
    Ok(repo::person_by_index(conn, PersonIndex::ResidentId, &index)
        .await?
        .map(|row| row.person))
}

/// A person's mobile number in full, for sending them a message.
pub async fn person_mobile_in<C: ConnectionTrait>(
    conn: &C,
    pii: &PiiProtector,
    id: PersonId,
) -> Result<Option<Mobile>, IdentityError> {
    let Some(row) = repo::person_by_id(conn, id).await? else {
        return Ok(None);
    };
    let mobile = pii.open(PiiField::Mobile, &row.mobile_enc)?;
    Mobile::parse(&mobile)
        .map(Some)
        .map_err(|e| IdentityError::Corrupt(format!("stored mobile number: {e}")))
}

/// A person's own identity in full — name, resident ID and mobile number — for binding the identity
/// fields of what they apply for to their account.
pub async fn person_identity_in<C: ConnectionTrait>(
    conn: &C,
    pii: &PiiProtector,
    id: PersonId,
) -> Result<Option<(Person, ResidentId, Mobile)>, IdentityError> {
    let Some(row) = repo::person_by_id(conn, id).await? else {
        return Ok(None);
    };
    let rid = pii.open(PiiField::ResidentId, &row.resident_id_enc)?;
    let rid = ResidentId::parse(&rid)
        .map_err(|e| IdentityError::Corrupt(format!("stored resident ID: {e}")))?;
    let mobile = pii.open(PiiField::Mobile, &row.mobile_enc)?;
    let mobile = Mobile::parse(&mobile)
        .map_err(|e| IdentityError::Corrupt(format!("stored mobile number: {e}")))?;
    Ok(Some((row.person, rid, mobile)))
}

/// A staff member with their department, roles and posts.
pub async fn staff_in<C: ConnectionTrait>(
    conn: &C,
    id: StaffId,
) -> Result<Option<Staff>, IdentityError> {
    repo::staff::staff_by_id(conn, id).await
}

/// A staff member by employee number.
pub async fn staff_by_employee_no_in<C: ConnectionTrait>(
    conn: &C,
    employee_no: &str,
) -> Result<Option<Staff>, IdentityError> {
    Ok(repo::staff::credentials_by_employee_no(conn, employee_no)
        .await?
        .map(|found| found.staff))
}

/// An enterprise by id.
pub async fn enterprise_in<C: ConnectionTrait>(
    conn: &C,
    id: EnterpriseId,
) -> Result<Option<Enterprise>, IdentityError> {
    repo::enterprise::enterprise_by_id(conn, id).await
}

/// An enterprise by its public id.
pub async fn enterprise_by_public_id_in<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<Enterprise>, IdentityError> {
    repo::enterprise::enterprise_by_public_id(conn, public_id).await
}

/// The persons currently authorised as agents of an enterprise (for
/// [`Action::ActForEnterprise`](crate::policy::Action::ActForEnterprise)).
pub async fn enterprise_agents_in<C: ConnectionTrait>(
    conn: &C,
    id: EnterpriseId,
) -> Result<Vec<PersonId>, IdentityError> {
    Ok(repo::enterprise::live_agents(conn, id)
        .await?
        .into_iter()
        .map(|(person, _)| person)
        .collect())
}

/// The enterprises a person represents or is a live agent of, by USCC.
pub async fn enterprises_of_person_in<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<Vec<(Enterprise, EnterpriseRelation)>, IdentityError> {
    repo::enterprise::enterprises_of_person(conn, person).await
}
