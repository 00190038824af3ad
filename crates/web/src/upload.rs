//! Multipart forms that carry one file (template uploads, material uploads), read whole.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;

use crate::error::AppError;

/// A multipart form read whole: its text fields and its one file (name and bytes).
#[derive(Debug, Default)]
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file: Option<(String, Vec<u8>)>,
}

fn unreadable_upload(error: &MultipartError) -> AppError {
    AppError::Invalid {
        field: "file".to_owned(),
        code: if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "file_too_large".to_owned()
        } else {
            "upload_unreadable".to_owned()
        },
        message: error.body_text(),
    }
}

pub async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable_upload(&e))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let bytes = field.bytes().await.map_err(|e| unreadable_upload(&e))?;
            if name == "file" {
                upload.file = Some((file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(|e| unreadable_upload(&e))?;
            upload.fields.push((name, text));
        }
    }
    Ok(upload)
}
