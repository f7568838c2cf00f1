//! `/upload` and `/files/*`: storing, listing, showing, downloading and
//! deleting the signed-in user's files.

pub mod delete;
pub mod download;
pub mod list;
pub mod proofs;
pub mod show;
pub mod upload;

use crate::time::rfc3339;
use serde_json::{Value, json};

use crate::db::files::File;
use crate::domain::FileId;
use crate::error::AppError;
use crate::web::pages::FileView;

/// The contract's file object.
pub fn file_json(file: &File) -> Value {
    let id = file.id;
    json!({
        "id": id,
        "original_filename": file.original_filename,
        "size": file.size,
        "sha256": file.sha256.trim(),
        "content_type": file.content_type,
        "uploaded_at": uploaded_at(file),
        "links": {
            "self": format!("/files/{id}"),
            "content": format!("/files/{id}/download"),
            "delete": format!("/files/{id}"),
            "receipt": format!("/files/{id}/receipt"),
            "timestamp": format!("/files/{id}/timestamp.tsr"),
            "signature": format!("/files/{id}/signature.asc"),
        },
    })
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
