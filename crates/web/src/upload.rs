//! Multipart forms that carry files (template uploads, material uploads, application forms with a file
//! per material), read whole.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;

use crate::error::AppError;

/// Most parts (text fields and files together) one multipart form may have: well above what any
/// form of the platform sends (an application form has a file input and a few fields per material),
/// so a request made of thousands of tiny parts is refused with 422 `form_too_many_parts` instead of
/// being parsed part by part.
pub const MAX_PARTS: usize = 200;

/// A multipart form read whole: its text fields and its one file (name and bytes).
#[derive(Debug, Default)]
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file: Option<(String, Vec<u8>)>,
}

/// A multipart form with any number of file inputs: its text fields and every file chosen, as
/// (input name, file name, bytes). Inputs left empty (no file chosen) are not listed.
#[derive(Debug, Default)]
pub struct MultiUpload {
    pub fields: Vec<(String, String)>,
    pub files: Vec<(String, String, Vec<u8>)>,
}

impl MultiUpload {
    /// The first value of a text field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The file sent in an input, if one was chosen.
    pub fn file(&self, input: &str) -> Option<(&str, &[u8])> {
        self.files
            .iter()
            .find(|(k, _, _)| k == input)
            .map(|(_, name, bytes)| (name.as_str(), bytes.as_slice()))
    }
}

impl MultiUpload {
    /// The form as one with a single file, the one sent in the input named `file`.
    pub fn single(self) -> Upload {
        Upload {
            file: self
                .files
                .into_iter()
                .find(|(input, _, _)| input == "file")
                .map(|(_, name, bytes)| (name, bytes)),
            fields: self.fields,
        }
    }
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

pub async fn read_upload(multipart: Multipart) -> Result<Upload, AppError> {
    Ok(read_multi_upload(multipart).await?.single())
}

pub async fn read_multi_upload(mut multipart: Multipart) -> Result<MultiUpload, AppError> {
    let mut upload = MultiUpload::default();
    let mut parts = 0_usize;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable_upload(&e))?
    {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::Invalid {
                field: "form".to_owned(),
                code: "form_too_many_parts".to_owned(),
                message: format!("a form has at most {MAX_PARTS} parts"),
            });
        }
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let bytes = field.bytes().await.map_err(|e| unreadable_upload(&e))?;
            // A file input left empty is sent as a part with no name and no content.
            if !(file_name.is_empty() && bytes.is_empty()) {
                upload.files.push((name, file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(|e| unreadable_upload(&e))?;
            upload.fields.push((name, text));
        }
    }
    Ok(upload)
}
