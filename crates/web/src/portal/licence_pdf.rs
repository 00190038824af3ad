//! A licence as a PDF (`/licences/{identifier}/pdf`) for its holder, drawn by yiwang-render from
//! the signed statement: the fields in the type's order with their labels, the issuer's seal (key
//! id and signature fingerprint) and the offline QR payload. Official documents are in Chinese
//! whatever the page language.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use yiwang_licenses::License;
use yiwang_licenses::document::LicenseStatement;
use yiwang_render::{Document, DocumentKind, Field, SealBlock};

use crate::error::AppError;
use crate::extract::{IdPath, PagePerson};
use crate::prefs::encode_component;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/licences/{identifier}/pdf", get(licence_pdf))
}

/// The seal block's fingerprint: the first 16 hex digits of SM3 over the signature bytes.
pub fn fingerprint(signature: &[u8]) -> String {
    yiwang_kernel::crypto::sm3_hex(signature)
        .chars()
        .take(16)
        .collect()
}

/// The printable document of a licence version.
pub fn licence_document(licence: &License) -> Result<Document, AppError> {
    let statement = LicenseStatement::from_bytes(licence.signed.as_bytes())?;
    let signature = hex::decode(&licence.signature)
        .map_err(|_| AppError::Internal("a stored licence signature is not hex".to_owned()))?;
    let holder_label = if statement.holder.kind == "person" {
        "公民身份号码"
    } else {
        "统一社会信用代码"
    };
    let mut footnotes = vec![format!("状态：{}", licence.status.zh())];
    footnotes.push("扫描二维码或访问“电子证照核验”页面，可核验本证照的真伪和状态。".to_owned());
    Ok(Document {
        kind: DocumentKind::Licence,
        title: statement.type_name.clone(),
        number: Some(Field::new("证照标识", statement.identifier.clone())),
        holder: vec![
            format!("持证主体：{}", statement.holder.name),
            format!("{holder_label}：{}", statement.holder.id),
        ],
        fields: statement
            .fields
            .iter()
            .map(|f| Field::new(f.label.clone(), f.value.clone()))
            .collect(),
        paragraphs: Vec::new(),
        issuer: statement.issuer.name.clone(),
        issued: statement.issued_on,
        expires: statement.expires_on,
        seal: Some(SealBlock {
            department: statement.issuer.name.clone(),
            key_id: licence.key_id.clone(),
            fingerprint: fingerprint(&signature),
        }),
        qr: Some(licence.qr_payload()),
        footnotes,
    })
}

/// A PDF response with a UTF-8 file name.
pub fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        encode_component(filename)
    )) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    response
}

/// The holder downloads one of their licences (the person's own or their enterprise's).
async fn licence_pdf(
    State(state): State<AppState>,
    who: PagePerson,
    IdPath(identifier): IdPath<String>,
) -> Result<Response, AppError> {
    let (licence, _) = state
        .licenses()
        .my_licence(&who.principal, &identifier)
        .await?;
    let document = licence_document(&licence)?;
    let bytes = yiwang_render::pdf(&document)
        .map_err(|e| AppError::Internal(format!("licence PDF: {e}")))?;
    Ok(pdf_response(
        bytes,
        &format!("{}-{}.pdf", licence.type_name, licence.identifier),
    ))
}
