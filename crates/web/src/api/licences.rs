//! E-licences (电子证照) over JSON: the verifier contract (published keys, signed documents, the
//! signed revocation list, public verification), the holder's wallet (licences, 亮证 codes, usage
//! grants, the reads log) and the issuing department's work (issue, search, revoke, cancel, renew,
//! import, pending issuances, redeeming 亮证 codes).
//!
//! Who may read a licence document: its holder (the person, or a representative of the holding
//! enterprise), and staff on a ground the licence domain accepts (the issuer, the holder's grant, a
//! legal basis for the type) — such a read names a purpose (and a case) and is logged, a refused one
//! too. The public gets only the verdict and the public fields through `POST /licences/verify`.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ErrorCode as _, Page, PageRequest};
use yiwang_licenses::document::{PublishedKey, SignedDocument, SignedRevocations};
use yiwang_licenses::model::{Grant, License, LicenseEvent, LicenseRead, LicenseType};
use yiwang_licenses::service::{
    GrantRequest, HolderRef, IssueRequest, MAX_DOCUMENT_CHARS, MAX_REASON_CHARS, MAX_VERIFY_CHARS,
};
use yiwang_licenses::{LicenseError, Verdict};

use crate::api::{ApiError, ApiErrorBody, ApiQuery};
use crate::auth::Client;
use crate::error::{AppError, invalid};
use crate::extract::{ApiCaller, ApiPerson, ApiStaff, IdPath};
use crate::prefs::Prefs;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/licences/keys", get(keys))
        .route("/api/v1/licences/revocations", get(revocations))
        .route("/api/v1/licences/verify", post(verify))
        .route("/api/v1/licences/types", get(types))
        .route("/api/v1/licences/pending", get(pending))
        .route("/api/v1/licences/import", post(import))
        .route("/api/v1/licences/show-codes/redeem", post(redeem_show_code))
        .route("/api/v1/licences", get(department_licences).post(issue))
        .route("/api/v1/licences/{identifier}", get(licence))
        .route("/api/v1/licences/{identifier}/document", get(document))
        .route("/api/v1/licences/{identifier}/revoke", post(revoke))
        .route("/api/v1/licences/{identifier}/cancel", post(cancel))
        .route("/api/v1/licences/{identifier}/renew", post(renew))
        .route("/api/v1/me/licences", get(my_licences))
        .route("/api/v1/me/licences/reads", get(my_reads))
        .route("/api/v1/me/licences/grants", get(my_grants).post(grant))
        .route("/api/v1/me/licences/grants/{id}", delete(revoke_grant))
        .route(
            "/api/v1/me/licences/{identifier}/show-code",
            post(create_show_code),
        )
}

fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("api:{}", meta.ip)
}

fn too_long(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.chars().nth(max).is_some() {
        Err(invalid(
            field,
            "licence_text_too_long",
            &format!("{field} has more than {max} characters"),
        ))
    } else {
        Ok(())
    }
}

// ------------------------------------------------------------------------------------- bodies

/// The published seal keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyOut>,
}

/// A published SM2 public key with its validity period.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyOut {
    pub key_id: String,
    /// The department's code, or `platform` for the key that signs revocation lists.
    pub department: String,
    /// Always `SM2` (GB/T 32918, SM3 digest, user id `1234567812345678`).
    pub algorithm: String,
    /// Hex of the uncompressed point `04 ‖ x ‖ y` (130 hex digits).
    pub public_key: String,
    #[schema(value_type = String, format = DateTime)]
    pub not_before: DateTime<Utc>,
    /// When the key stopped signing; it still verifies what it signed before. `null`: in use.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub not_after: Option<DateTime<Utc>>,
}

impl From<PublishedKey> for KeyOut {
    fn from(k: PublishedKey) -> Self {
        Self {
            key_id: k.key_id,
            department: k.department,
            algorithm: k.algorithm,
            public_key: k.public_key,
            not_before: k.not_before,
            not_after: k.not_after,
        }
    }
}

/// A signed licence document: what an outside verifier checks with the published key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentOut {
    /// The GB/T 36904 identifier.
    #[schema(max_length = 400)]
    pub identifier: String,
    #[schema(max_length = 64)]
    pub key_id: String,
    /// Base64 (standard alphabet, padded) of the exact UTF-8 bytes signed (compact JSON).
    #[schema(max_length = 65536)]
    pub signed: String,
    /// Hex of `r ‖ s` (64 bytes, 128 hex digits).
    #[schema(max_length = 200)]
    pub signature: String,
    /// The status when served (`valid`, `cancelled`, `revoked`, `expired`, `replaced`); not signed —
    /// the signed revocation list is the authoritative word.
    #[serde(default)]
    pub status: String,
}

impl From<SignedDocument> for DocumentOut {
    fn from(d: SignedDocument) -> Self {
        Self {
            identifier: d.identifier,
            key_id: d.key_id,
            signed: d.signed,
            signature: d.signature,
            status: d.status,
        }
    }
}

impl From<DocumentOut> for SignedDocument {
    fn from(d: DocumentOut) -> Self {
        Self {
            identifier: d.identifier,
            key_id: d.key_id,
            signed: d.signed,
            signature: d.signature,
            status: d.status,
        }
    }
}

/// The revocation list, signed by the platform key (department `platform` among the keys).
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationsOut {
    pub key_id: String,
    /// Base64 of the exact bytes signed: compact JSON
    /// `{"format":"yiwang-revocations/1","issued_at":…,"entries":[{"identifier","status","at"}]}`.
    pub signed: String,
    /// Hex of `r ‖ s`.
    pub signature: String,
}

impl From<SignedRevocations> for RevocationsOut {
    fn from(r: SignedRevocations) -> Self {
        Self {
            key_id: r.key_id,
            signed: r.signed,
            signature: r.signature,
        }
    }
}

/// What to verify: exactly one of `text` (an identifier or a QR payload `YWL1.…`) and `document`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct VerifyBody {
    /// A licence identifier or the payload of a licence's QR code; at most 400 characters.
    #[schema(max_length = 400)]
    pub text: Option<String>,
    /// A whole signed document as `GET /licences/{identifier}/document` serves it.
    pub document: Option<DocumentOut>,
}

/// One public field of a verified licence.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicField {
    pub label: String,
    pub value: String,
}

/// The verdict of a verification, with only what the public may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictOut {
    /// `valid`, `revoked` (吊销 or 注销; see `reason`), `expired`, `replaced` (已换发) or `forged`.
    pub outcome: String,
    /// Why, in English (for forged: what failed; for revoked: the status and time).
    pub reason: String,
    pub identifier: Option<String>,
    pub type_name: Option<String>,
    /// Masked for persons (张*), in full for enterprises.
    pub holder: Option<String>,
    pub issuer: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
    pub public_fields: Vec<PublicField>,
}

impl From<Verdict> for VerdictOut {
    fn from(v: Verdict) -> Self {
        Self {
            outcome: v.outcome.code().to_owned(),
            reason: v.reason,
            identifier: v.identifier,
            type_name: v.type_name,
            holder: v.holder,
            issuer: v.issuer,
            expires_on: v.expires_on,
            public_fields: v
                .public_fields
                .into_iter()
                .map(|(label, value)| PublicField { label, value })
                .collect(),
        }
    }
}

/// A licence as its holder or an authorised reader sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceOut {
    pub identifier: String,
    /// The licence type's code.
    #[serde(rename = "type")]
    pub type_code: String,
    /// The licence type's name (营业执照 …).
    pub name: String,
    /// `valid`, `cancelled`, `revoked`, `expired` or `replaced`.
    pub status: String,
    pub version: u16,
    pub department: String,
    pub department_name: String,
    pub holder_name: String,
    /// Masked resident ID for persons, the USCC for enterprises.
    pub holder_id: String,
    pub data: BTreeMap<String, String>,
    #[schema(value_type = String, format = Date)]
    pub issued_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    /// `null`: 长期有效.
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
    pub status_reason: String,
    /// `case`, `staff`, `import` or `renewal`.
    pub source: String,
    pub case_no: Option<String>,
    pub key_id: String,
    /// The offline QR payload (`YWL1.…`); `/licences/verify?p=<payload>` checks it.
    pub qr_payload: String,
}

impl From<License> for LicenceOut {
    fn from(l: License) -> Self {
        let qr_payload = l.qr_payload();
        Self {
            identifier: l.identifier.to_string(),
            type_code: l.type_code,
            name: l.type_name,
            status: l.status.code().to_owned(),
            version: l.version,
            department: l.department_code,
            department_name: l.department_name,
            holder_name: l.holder_name,
            holder_id: l.holder_id,
            data: l.data,
            issued_on: l.issued_on,
            valid_from: l.valid_from,
            expires_on: l.expires_on,
            status_reason: l.status_reason,
            source: l.source.code().to_owned(),
            case_no: l.case_no,
            key_id: l.key_id,
            qr_payload,
        }
    }
}

/// A page of licences.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceList {
    pub items: Vec<LicenceOut>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

impl From<Page<License>> for LicenceList {
    fn from(page: Page<License>) -> Self {
        Self {
            total: page.total,
            page: page.page,
            page_size: page.page_size,
            items: page.items.into_iter().map(LicenceOut::from).collect(),
        }
    }
}

/// One line of a licence's status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub identifier: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: String,
}

impl From<LicenseEvent> for EventOut {
    fn from(e: LicenseEvent) -> Self {
        Self {
            identifier: e.identifier,
            at: e.at,
            action: e.action,
            from_status: e.from_status.map(|s| s.code().to_owned()),
            to_status: e.to_status.code().to_owned(),
            reason: e.reason,
        }
    }
}

/// A licence with its history (the holder's view).
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceDetail {
    #[serde(flatten)]
    pub licence: LicenceOut,
    /// The holder's view only; empty for staff readers.
    pub history: Vec<EventOut>,
}

/// One data field of a licence type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeFieldOut {
    pub name: String,
    pub label: String,
    /// `text`, `date` or `number`.
    pub kind: String,
    pub required: bool,
    /// Shown by the public verification.
    pub public: bool,
}

/// A licence type of the catalogue (证照目录).
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeOut {
    pub code: String,
    pub name: String,
    /// Codes of the issuing departments.
    pub departments: Vec<String>,
    /// `person` or `enterprise`.
    pub holder: String,
    pub fields: Vec<TypeFieldOut>,
    /// The validity rule, e.g. `{"kind":"years","years":5}` or `{"kind":"none"}`.
    #[schema(value_type = Object)]
    pub validity: serde_json::Value,
    /// Implementation codes of the items whose grant produces it.
    pub producing_items: Vec<String>,
    /// (item, material) pairs a valid licence of this type replaces (免提交).
    #[schema(value_type = Vec<Object>)]
    pub replaces: serde_json::Value,
}

impl From<LicenseType> for TypeOut {
    fn from(t: LicenseType) -> Self {
        Self {
            code: t.code,
            name: t.name,
            departments: t.departments,
            holder: t.holder.code().to_owned(),
            fields: t
                .fields
                .into_iter()
                .map(|f| TypeFieldOut {
                    name: f.name,
                    label: f.label,
                    kind: f.kind.code().to_owned(),
                    required: f.required,
                    public: f.public,
                })
                .collect(),
            validity: serde_json::to_value(t.validity).unwrap_or_default(),
            producing_items: t.producing_items,
            replaces: serde_json::to_value(t.replaces).unwrap_or_default(),
        }
    }
}

/// A usage grant (用证授权).
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    /// Use in `DELETE /me/licences/grants/{id}`.
    pub id: String,
    pub department_name: String,
    pub purpose: String,
    /// `licence` (one licence) or `type` (every licence of the holder of a type).
    pub scope: String,
    pub identifier: Option<String>,
    pub type_code: Option<String>,
    /// The case the grant serves (grants created by applications).
    pub case_no: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<Grant> for GrantOut {
    fn from(g: Grant) -> Self {
        Self {
            id: g.public_id,
            department_name: g.department_name,
            purpose: g.purpose,
            scope: g.scope.code().to_owned(),
            identifier: g.identifier,
            type_code: g.type_code,
            case_no: g.case_no,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
            created_at: g.created_at,
        }
    }
}

/// A new grant: a department code, a purpose, exactly one of `identifier` and `type_code`, and
/// 1–365 days.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct GrantBody {
    /// The department's code, e.g. `hf-scjgj`.
    #[schema(max_length = 64)]
    pub department: String,
    /// 1–200 characters.
    #[schema(max_length = 200)]
    pub purpose: String,
    #[schema(max_length = 400)]
    pub identifier: Option<String>,
    #[schema(max_length = 24)]
    pub type_code: Option<String>,
    #[schema(minimum = 1, maximum = 365)]
    pub days: u32,
}

/// One logged read of the holder's licences.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadOut {
    pub identifier: String,
    pub type_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub department_name: String,
    pub reader: String,
    pub purpose: String,
    pub case_no: Option<String>,
    /// `grant`, `legal_basis`, `show_code`, `issuer` or `none` (refused).
    pub basis: String,
    /// Whether the read was allowed (a refused attempt is logged too).
    pub allowed: bool,
}

impl From<LicenseRead> for ReadOut {
    fn from(r: LicenseRead) -> Self {
        Self {
            identifier: r.identifier,
            type_name: r.type_name,
            at: r.at,
            department_name: r.department_name,
            reader: r.reader,
            purpose: r.purpose,
            case_no: r.case_no,
            basis: r.basis.code().to_owned(),
            allowed: r.allowed,
        }
    }
}

/// A page of reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadList {
    pub items: Vec<ReadOut>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// A 亮证 code: the 6 digits to read out and the token a clerk's scanner reads from the QR.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShowCodeOut {
    pub digits: String,
    pub token: String,
    pub identifier: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
}

/// A 亮证 code to redeem: the 6 digits or the QR token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RedeemBody {
    #[schema(max_length = 64)]
    pub code: String,
}

/// A licence issued by hand: the type, the holder (exactly one of `holder_resident_id` for person
/// types and `holder_uscc` for enterprise types), the data fields by name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct IssueBody {
    #[schema(max_length = 24)]
    pub type_code: String,
    #[schema(max_length = 18)]
    pub holder_resident_id: Option<String>,
    #[schema(max_length = 18)]
    pub holder_uscc: Option<String>,
    /// Field name → value (each at most 500 characters; the type says which are required).
    pub data: BTreeMap<String, String>,
    /// First day of validity (default: today).
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<NaiveDate>,
}

/// The reason of a revocation or cancellation, 1–200 characters.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReasonBody {
    #[schema(max_length = 200)]
    pub reason: String,
}

/// A renewal (换发): changed fields (others keep their values) and the reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RenewBody {
    pub changes: BTreeMap<String, String>,
    #[schema(max_length = 200)]
    pub reason: String,
}

/// What an import stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedOut {
    /// Identifiers of the licences issued, in file order.
    pub issued: Vec<String>,
}

/// One bad row of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRow {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// The import was refused: every bad row, nothing stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRefused {
    pub error: ApiError,
    pub rows: Vec<ImportRow>,
}

/// A pending issuance (a granted case whose licence lacks data; Art. 44 deadline).
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingOut {
    pub id: i64,
    pub case_no: String,
    pub type_code: String,
    pub type_name: String,
    pub holder_name: String,
    /// Names of the required fields still missing.
    pub missing: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

// ------------------------------------------------------------------------------------- queries

/// Paging: `page` 1–1000, `page_size` 1–100 (default 20).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 1000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}

impl PageQuery {
    fn request(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.page, self.page_size)
            .map_err(|e| invalid("page", e.code(), &e.to_string()))
    }
}

/// Staff search within their department.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Holder name or identifier text, at most 200 characters.
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}

/// Why staff read a licence: the purpose (required for staff, 1–200 characters) and the case it
/// serves (at most 64 characters). Holders need neither.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    #[param(max_length = 200)]
    pub purpose: Option<String>,
    #[param(max_length = 64)]
    pub case_no: Option<String>,
}

/// The licence type of an import.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The licence type's code (required).
    #[serde(rename = "type")]
    #[param(max_length = 24)]
    pub type_code: String,
}

// ------------------------------------------------------------------------------------- public

/// The published seal keys: every department's SM2 public keys and the platform's (which signs
/// revocation lists), with their periods. Open to anyone.
#[utoipa::path(get, path = "/api/v1/licences/keys", tag = "licences",
    responses((status = 200, body = KeyList)))]
async fn keys(State(state): State<AppState>) -> Result<Json<KeyList>, AppError> {
    let keys = state.licenses().published_keys().await?;
    Ok(Json(KeyList {
        keys: keys.into_iter().map(KeyOut::from).collect(),
    }))
}

/// The revocation list for offline verifiers, signed now with the platform key. Open to anyone.
#[utoipa::path(get, path = "/api/v1/licences/revocations", tag = "licences",
    responses((status = 200, body = RevocationsOut)))]
async fn revocations(State(state): State<AppState>) -> Result<Json<RevocationsOut>, AppError> {
    Ok(Json(state.licenses().revocation_list().await?.into()))
}

/// Public verification of an identifier, a QR payload or a whole signed document: valid,
/// revoked, expired, replaced or forged, with only the public fields. No log-in; 120 per address
/// per minute (`[limits] verify`).
#[utoipa::path(post, path = "/api/v1/licences/verify", tag = "licences", request_body = VerifyBody,
    responses((status = 200, body = VerdictOut),
        (status = 422, body = ApiErrorBody, description = "neither or both of `text` and `document`, text over 400 characters, a document over its bounds, or a malformed identifier"),
        (status = 429, body = ApiErrorBody, description = "too many verifications from this address")))]
async fn verify(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<VerifyBody>,
) -> Result<Json<VerdictOut>, AppError> {
    crate::throttle::guard_verify(&state, &meta.ip).await?;
    let licenses = state.licenses();
    let verdict = match (body.text, body.document) {
        (Some(text), None) => {
            too_long("text", &text, MAX_VERIFY_CHARS)?;
            licenses.verify(&text).await?
        }
        (None, Some(document)) => {
            too_long("document", &document.signed, MAX_DOCUMENT_CHARS)?;
            licenses.verify_document(&document.into()).await?
        }
        _ => {
            return Err(invalid(
                "text",
                "licence_verify_input",
                "send either text (an identifier or a QR payload) or document",
            ));
        }
    };
    Ok(Json(verdict.into()))
}

/// The licence catalogue (证照目录): every type with its fields and rules. Open to anyone.
#[utoipa::path(get, path = "/api/v1/licences/types", tag = "licences",
    responses((status = 200, body = Vec<TypeOut>)))]
async fn types(State(state): State<AppState>) -> Result<Json<Vec<TypeOut>>, AppError> {
    let types = state.licenses().types().await?;
    Ok(Json(types.into_iter().map(TypeOut::from).collect()))
}

// ------------------------------------------------------------------------------------- reading

/// A licence's signed document. The holder gets it as is; staff give a `purpose` (and a
/// `case_no`) and get it on a ground the domain accepts (issuer, the holder's grant, a legal
/// basis), the read logged — a read without a ground is logged as refused and answered 403.
#[utoipa::path(get, path = "/api/v1/licences/{identifier}/document", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)"), ReadQuery),
    responses((status = 200, body = DocumentOut),
        (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "staff without a grant or legal basis (logged as refused)"),
        (status = 404, body = ApiErrorBody, description = "no such licence, or (for a person) not theirs"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier, or staff without a purpose")))]
async fn document(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<DocumentOut>, AppError> {
    let licenses = state.licenses();
    let document = match &who.principal {
        Principal::Staff(_) => licenses
            .read_licence(
                &who.principal,
                &identifier,
                query.purpose.as_deref().unwrap_or_default(),
                query.case_no.as_deref(),
                &source(&meta),
            )
            .await?
            .document(),
        _ => licenses.document(&who.principal, &identifier).await?,
    };
    Ok(Json(document.into()))
}

/// One licence with its data. The holder sees it with its history; staff read it as for the
/// document (purpose required, logged, 403 without a ground).
#[utoipa::path(get, path = "/api/v1/licences/{identifier}", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)"), ReadQuery),
    responses((status = 200, body = LicenceDetail),
        (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "staff without a grant or legal basis (logged as refused)"),
        (status = 404, body = ApiErrorBody, description = "no such licence, or (for a person) not theirs"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier, or staff without a purpose")))]
async fn licence(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<LicenceDetail>, AppError> {
    let licenses = state.licenses();
    let (licence, history) = match &who.principal {
        Principal::Staff(_) => (
            licenses
                .read_licence(
                    &who.principal,
                    &identifier,
                    query.purpose.as_deref().unwrap_or_default(),
                    query.case_no.as_deref(),
                    &source(&meta),
                )
                .await?,
            Vec::new(),
        ),
        _ => licenses.my_licence(&who.principal, &identifier).await?,
    };
    Ok(Json(LicenceDetail {
        licence: licence.into(),
        history: history.into_iter().map(EventOut::from).collect(),
    }))
}

// ------------------------------------------------------------------------------------- holder

/// The caller's licences and those of the enterprises they represent, newest first.
#[utoipa::path(get, path = "/api/v1/me/licences", tag = "licences", params(PageQuery),
    responses((status = 200, body = LicenceList), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "staff accounts hold no licences"),
        (status = 422, body = ApiErrorBody, description = "page or page_size out of range")))]
async fn my_licences(
    State(state): State<AppState>,
    who: ApiPerson,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<LicenceList>, AppError> {
    let page = query.request()?;
    Ok(Json(
        state
            .licenses()
            .my_licences(&who.principal, page)
            .await?
            .into(),
    ))
}

/// Who read the caller's licences, when and why (refused attempts too), newest first.
#[utoipa::path(get, path = "/api/v1/me/licences/reads", tag = "licences", params(PageQuery),
    responses((status = 200, body = ReadList), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn my_reads(
    State(state): State<AppState>,
    who: ApiPerson,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ReadList>, AppError> {
    let page = query.request()?;
    let reads = state.licenses().reads_of_mine(&who.principal, page).await?;
    Ok(Json(ReadList {
        total: reads.total,
        page: reads.page,
        page_size: reads.page_size,
        items: reads.items.into_iter().map(ReadOut::from).collect(),
    }))
}

/// The grants over the caller's licences, newest first (revoked and expired ones included).
#[utoipa::path(get, path = "/api/v1/me/licences/grants", tag = "licences",
    responses((status = 200, body = Vec<GrantOut>), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody)))]
async fn my_grants(
    State(state): State<AppState>,
    who: ApiPerson,
) -> Result<Json<Vec<GrantOut>>, AppError> {
    let grants = state.licenses().my_grants(&who.principal).await?;
    Ok(Json(grants.into_iter().map(GrantOut::from).collect()))
}

/// Grant a department the use of one licence or of every licence of a type, for a purpose, for
/// 1–365 days.
#[utoipa::path(post, path = "/api/v1/me/licences/grants", tag = "licences", request_body = GrantBody,
    responses((status = 201, body = GrantOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "staff, or an unknown department"),
        (status = 404, body = ApiErrorBody, description = "no such licence of the caller, or no such type"),
        (status = 422, body = ApiErrorBody, description = "`field` is `purpose`, `days`, `scope`, `identifier` or `holder`")))]
async fn grant(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    Json(body): Json<GrantBody>,
) -> Result<(StatusCode, Json<GrantOut>), AppError> {
    too_long("department", &body.department, 64)?;
    too_long("purpose", &body.purpose, MAX_REASON_CHARS)?;
    if let Some(identifier) = &body.identifier {
        too_long("identifier", identifier, MAX_VERIFY_CHARS)?;
    }
    if let Some(code) = &body.type_code {
        too_long("type_code", code, 24)?;
    }
    let request = GrantRequest {
        department: body.department,
        purpose: body.purpose,
        identifier: body.identifier,
        type_code: body.type_code,
        days: body.days,
    };
    let grant = state
        .licenses()
        .grant(&who.principal, &request, &source(&meta))
        .await?;
    Ok((StatusCode::CREATED, Json(grant.into())))
}

/// Withdraw a grant; the department's next read without another ground is refused.
#[utoipa::path(delete, path = "/api/v1/me/licences/grants/{id}", tag = "licences",
    params(("id" = String, Path, description = "the grant id (at most 64 characters)")),
    responses((status = 204), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody, description = "no live grant of the caller has this id")))]
async fn revoke_grant(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
) -> Result<StatusCode, AppError> {
    if id.len() > 64 {
        return Err(AppError::NotFound);
    }
    state
        .licenses()
        .revoke_grant(&who.principal, &id, &source(&meta))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 亮证: a code for one of the caller's valid licences — 6 digits and a QR token, valid 5
/// minutes, usable once.
#[utoipa::path(post, path = "/api/v1/me/licences/{identifier}/show-code", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)")),
    responses((status = 201, body = ShowCodeOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody, description = "no such licence of the caller"),
        (status = 409, body = ApiErrorBody, description = "the licence is not valid"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier")))]
async fn create_show_code(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
) -> Result<(StatusCode, Json<ShowCodeOut>), AppError> {
    let code = state
        .licenses()
        .create_show_code(&who.principal, &identifier, &source(&meta))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ShowCodeOut {
            digits: code.digits,
            token: code.token,
            identifier: code.identifier,
            expires_at: code.expires_at,
        }),
    ))
}

// ------------------------------------------------------------------------------------- staff

/// Staff redeem a 亮证 code (the 6 digits or the QR token) and see the licence; the read is
/// logged with the basis `show_code`.
#[utoipa::path(post, path = "/api/v1/licences/show-codes/redeem", tag = "licences", request_body = RedeemBody,
    responses((status = 200, body = LicenceOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "not staff"),
        (status = 422, body = ApiErrorBody, description = "unknown, used or expired code")))]
async fn redeem_show_code(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<RedeemBody>,
) -> Result<Json<LicenceOut>, AppError> {
    let licence = state
        .licenses()
        .redeem_show_code(&who.principal, &body.code, &source(&meta))
        .await?;
    Ok(Json(licence.into()))
}

/// The licences issued by the caller's department, searched by holder name or identifier text.
#[utoipa::path(get, path = "/api/v1/licences", tag = "licences", params(SearchQuery),
    responses((status = 200, body = LicenceList), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "not window staff, an approver or the department's administrator"),
        (status = 422, body = ApiErrorBody, description = "q over 200 characters, page or page_size out of range")))]
async fn department_licences(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<LicenceList>, AppError> {
    let page = PageRequest::new(query.page, query.page_size)
        .map_err(|e| invalid("page", e.code(), &e.to_string()))?;
    let text = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    Ok(Json(
        state
            .licenses()
            .department_licences(&who.principal, text, page)
            .await?
            .into(),
    ))
}

/// Issue a licence by hand (staff of a department that issues the type); it is signed with the
/// department's seal key.
#[utoipa::path(post, path = "/api/v1/licences", tag = "licences", request_body = IssueBody,
    responses((status = 201, body = LicenceOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "the caller's department does not issue this type"),
        (status = 404, body = ApiErrorBody, description = "no such licence type"),
        (status = 422, body = ApiErrorBody, description = "`field` names the bad data field, or `holder`")))]
async fn issue(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<IssueBody>,
) -> Result<(StatusCode, Json<LicenceOut>), AppError> {
    too_long("type_code", &body.type_code, 24)?;
    let holder = match (body.holder_resident_id, body.holder_uscc) {
        (Some(rid), None) => HolderRef::ResidentId(rid),
        (None, Some(uscc)) => HolderRef::Uscc(uscc),
        _ => {
            return Err(invalid(
                "holder",
                "licence_holder_not_found",
                "give exactly one of holder_resident_id and holder_uscc",
            ));
        }
    };
    let request = IssueRequest {
        type_code: body.type_code,
        holder: Some(holder),
        data: body.data,
        valid_from: body.valid_from,
        department: None,
    };
    let licence = state
        .licenses()
        .issue(&who.principal, &request, &source(&meta))
        .await?;
    Ok((StatusCode::CREATED, Json(licence.into())))
}

/// 吊销: revoke a valid licence of the caller's department, with the reason.
#[utoipa::path(post, path = "/api/v1/licences/{identifier}/revoke", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)")), request_body = ReasonBody,
    responses((status = 200, body = LicenceOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "not the issuing department"),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "the licence is not valid"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier, or no reason")))]
async fn revoke(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<LicenceOut>, AppError> {
    too_long("reason", &body.reason, MAX_REASON_CHARS)?;
    let licence = state
        .licenses()
        .revoke(&who.principal, &identifier, &body.reason, &source(&meta))
        .await?;
    Ok(Json(licence.into()))
}

/// 注销: cancel a licence (valid or expired) of the caller's department, with the reason.
#[utoipa::path(post, path = "/api/v1/licences/{identifier}/cancel", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)")), request_body = ReasonBody,
    responses((status = 200, body = LicenceOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "not the issuing department"),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "already revoked, cancelled or replaced"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier, or no reason")))]
async fn cancel(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<LicenceOut>, AppError> {
    too_long("reason", &body.reason, MAX_REASON_CHARS)?;
    let licence = state
        .licenses()
        .cancel(&who.principal, &identifier, &body.reason, &source(&meta))
        .await?;
    Ok(Json(licence.into()))
}

/// 换发: a new version with the changed fields; the old version becomes `replaced`.
#[utoipa::path(post, path = "/api/v1/licences/{identifier}/renew", tag = "licences",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier (at most 400 characters)")), request_body = RenewBody,
    responses((status = 201, body = LicenceOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "not the issuing department"),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "revoked, cancelled or replaced"),
        (status = 422, body = ApiErrorBody, description = "malformed identifier, a bad field, or reason over 200 characters")))]
async fn renew(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    Json(body): Json<RenewBody>,
) -> Result<(StatusCode, Json<LicenceOut>), AppError> {
    too_long("reason", &body.reason, MAX_REASON_CHARS)?;
    let licence = state
        .licenses()
        .renew(
            &who.principal,
            &identifier,
            &body.changes,
            &body.reason,
            &source(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(licence.into())))
}

/// Import existing paper licences of one type: the request body is the CSV file (UTF-8, header
/// `holder,valid_from,expires_on,<field>…`, at most 2 MiB and 5,000 rows). All or nothing: 422
/// lists every bad row with its line and nothing is stored.
#[utoipa::path(post, path = "/api/v1/licences/import", tag = "licences", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "the CSV file"),
    responses((status = 201, body = ImportedOut), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody, description = "the caller's department does not issue this type"),
        (status = 404, body = ApiErrorBody, description = "no such licence type"),
        (status = 422, body = ImportRefused, description = "bad rows (all listed), a file that is not UTF-8 or too large")))]
async fn import(
    State(state): State<AppState>,
    who: ApiStaff,
    prefs: Prefs,
    Client(meta): Client,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    too_long("type", &query.type_code, 24)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| invalid("file", "licence_import_invalid", "the file is not UTF-8"))?;
    match state
        .licenses()
        .import_csv(&who.principal, &query.type_code, text, &source(&meta))
        .await
    {
        Ok(report) => Ok((
            StatusCode::CREATED,
            Json(ImportedOut {
                issued: report.issued,
            }),
        )
            .into_response()),
        Err(LicenseError::ImportInvalid(rows)) => {
            let body = ImportRefused {
                error: ApiError {
                    code: "licence_import_invalid".to_owned(),
                    message: prefs.tr().t("errors.licence_import_invalid").to_owned(),
                    request_id: String::new(),
                    field: Some("file".to_owned()),
                    reason: None,
                    locked_until: None,
                },
                rows: rows
                    .into_iter()
                    .map(|r| ImportRow {
                        line: r.line,
                        reason: r.reason,
                    })
                    .collect(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The open pending issuances of the caller's department, most urgent first.
#[utoipa::path(get, path = "/api/v1/licences/pending", tag = "licences",
    responses((status = 200, body = Vec<PendingOut>), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody)))]
async fn pending(
    State(state): State<AppState>,
    who: ApiStaff,
) -> Result<Json<Vec<PendingOut>>, AppError> {
    let pending = state.licenses().pending(&who.principal).await?;
    Ok(Json(
        pending
            .into_iter()
            .map(|p| PendingOut {
                id: p.id.get(),
                case_no: p.case_no,
                type_code: p.type_code,
                type_name: p.type_name,
                holder_name: p.holder_name,
                missing: p.missing,
                due_at: p.due_at,
                created_at: p.created_at,
            })
            .collect(),
    ))
}
