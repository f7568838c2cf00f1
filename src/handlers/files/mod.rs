//! `/upload` and `/files/*`: storing, listing, showing, downloading and
//! deleting the signed-in user's files.

pub mod delete;
pub mod download;
pub mod list;
pub mod proofs;
pub mod show;
pub mod upload;

use serde::Serialize;
use utoipa::ToSchema;

use crate::time::rfc3339;

use crate::db::files::File;
use crate::domain::FileId;
use crate::error::AppError;
use crate::web::pages::FileView;

/// The contract's file object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = File)]
pub struct FileObject {
    #[schema(example = 42)]
    id: i32,
    /// The name it was uploaded under, made safe to show and to save.
    #[schema(example = "contract.pdf")]
    original_filename: String,
    /// Bytes.
    size: i64,
    /// SHA-256 of the content, lower-case hex.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    sha256: String,
    content_type: String,
    /// The time in its RFC 3161 timestamp token (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-12-04T21:09:44.123456Z")]
    uploaded_at: String,
    /// Moved in from the original application: stamped when imported, so its
    /// proofs date from then.
    imported: bool,
    /// For an imported file, the upload time the original application
    /// recorded (RFC 3339, UTC), which no proof covers; else `null`.
    #[schema(format = DateTime)]
    legacy_uploaded_at: Option<String>,
    links: FileLinks,
}

/// Where a file's content and proofs are.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileLinks {
    /// The file object (`GET`).
    #[serde(rename = "self")]
    this: String,
    /// The content (`GET`, `HEAD`, with `Range`).
    content: String,
    /// Deletes the file (`DELETE`).
    delete: String,
    /// All its proofs in one JSON receipt, for `/verify` and `securestamp verify`.
    receipt: String,
    /// Its RFC 3161 timestamp token, for `openssl ts -verify`.
    timestamp: String,
    /// Its OpenPGP signature, for `gpg --verify`.
    signature: String,
}

impl From<&File> for FileObject {
    fn from(file: &File) -> FileObject {
        let id = file.id;
        FileObject {
            id,
            original_filename: file.original_filename.clone(),
            size: file.size,
            sha256: file.sha256.trim().to_owned(),
            content_type: file.content_type.clone(),
            uploaded_at: uploaded_at(file),
            imported: file.imported,
            legacy_uploaded_at: file.legacy_uploaded_at.map(|at| rfc3339(at.and_utc())),
            links: FileLinks {
                this: format!("/files/{id}"),
                content: format!("/files/{id}/download"),
                delete: format!("/files/{id}"),
                receipt: format!("/files/{id}/receipt"),
                timestamp: format!("/files/{id}/timestamp.tsr"),
                signature: format!("/files/{id}/signature.asc"),
            },
        }
    }
}

/// Files, as the JSON answers list them.
pub fn file_objects(files: &[File]) -> Vec<FileObject> {
    files.iter().map(FileObject::from).collect()
}

/// A file as the pages show it.
pub fn view(file: &File) -> FileView {
    FileView {
        id: file.id,
        name: file.original_filename.clone(),
        size: human_size(file.size),
        size_bytes: file.size,
        size_exact: with_separators(file.size),
        logged: file.log_entry_id.is_some(),
        sha256: file.sha256.trim().to_owned(),
        content_type: file.content_type.clone(),
        uploaded_at: file.uploaded_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        uploaded_at_iso: uploaded_at(file),
        imported: file.imported.then(|| crate::web::pages::Imported {
            claimed: file
                .legacy_uploaded_at
                .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        }),
    }
}

/// When the file was stamped, as its JSON object and receipt state it.
pub fn uploaded_at(file: &File) -> String {
    rfc3339(file.uploaded_at.and_utc())
}

/// `1,234,567`: digits in groups of three, for exact byte counts.
pub fn with_separators(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        grouped.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `1.4 MB`, `512 bytes`: decimal units, as file managers show them.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return if bytes == 1 {
            "1 byte".into()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// The `{id}` of a route; anything unparseable names no file.
pub fn parse_id(raw: &str) -> Result<FileId, AppError> {
    FileId::parse(raw).ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::{human_size, with_separators};

    #[test]
    fn exact_sizes_are_grouped_in_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
            (-12345, "-12,345"),
        ] {
            assert_eq!(with_separators(n), text);
        }
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1_400_000), "1.4 MB");
        assert_eq!(human_size(5_368_709_120), "5.4 GB");
    }
}
