//! What an uploaded file is: its content type from its first bytes (magic
//! numbers), cross-checked with the extension it is named with, so that a
//! program cannot be stored as `report.pdf`.

use crate::domain::FileName;

/// How many leading bytes the decision reads.
pub const SNIFF_LEN: usize = 8192;

/// Extensions that name the same kind of content.
const SAME_KIND: &[&[&str]] = &[
    &["jpg", "jpeg"],
    &["tif", "tiff"],
    &["gz", "tgz"],
    &["heic", "heif"],
    // Office Open XML, OpenDocument and other formats are zip archives inside.
    &[
        "zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar",
    ],
    // Legacy Office files are OLE compound documents.
    &["doc", "xls", "ppt", "msi"],
];

/// Text formats: whatever markup their content starts with, they are stored as
/// the text type their extension names.
const TEXT: &[&str] = &[
    "txt", "md", "csv", "json", "xml", "svg", "log", "html", "htm",
];

/// The content is not what the name says.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("its content is {detected}, not .{extension}")]
pub struct Mismatch {
    pub detected: String,
    pub extension: String,
}

/// The content type to record for `name` whose content starts with `head`.
pub fn decide(name: &FileName, head: &[u8]) -> Result<String, Mismatch> {
    let extension = name.extension();
    let by_extension = extension
        .as_deref()
        .and_then(|e| mime_guess::from_ext(e).first_raw())
        .unwrap_or("application/octet-stream");
    let Some(kind) = infer::get(head) else {
        return Ok(by_extension.to_owned());
    };
    let Some(extension) = extension else {
        return Ok(kind.mime_type().to_owned());
    };
    if TEXT.contains(&extension.as_str()) {
        return match kind.matcher_type() {
            infer::MatcherType::Text => Ok(by_extension.to_owned()),
            _ => Err(Mismatch {
                detected: describe(&kind),
                extension,
            }),
        };
    }
    let detected = kind.extension();
    let same = detected == extension
        || SAME_KIND
            .iter()
            .any(|group| group.contains(&detected) && group.contains(&extension.as_str()));
    if same {
        Ok(kind.mime_type().to_owned())
    } else if mime_guess::from_ext(&extension).first().is_none() {
        // An extension nobody knows makes no claim to contradict.
        Ok(kind.mime_type().to_owned())
    } else {
        Err(Mismatch {
            detected: describe(&kind),
            extension,
        })
    }
}

fn describe(kind: &infer::Type) -> String {
    format!("{} ({})", kind.extension(), kind.mime_type())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const ELF: &[u8] = &[
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40,
        0, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn decide_for(name: &str, head: &[u8]) -> Result<String, Mismatch> {
        decide(&FileName::parse(name), head)
    }

    #[test]
    fn matching_content_gets_its_detected_type() {
        assert_eq!(decide_for("a.pdf", PDF).unwrap(), "application/pdf");
        assert_eq!(decide_for("photo.PNG", PNG).unwrap(), "image/png");
    }

    #[test]
    fn content_that_contradicts_the_extension_is_refused() {
        let refused = decide_for("report.pdf", ELF).unwrap_err();
        assert_eq!(refused.extension, "pdf");
        assert!(refused.detected.starts_with("elf"), "{}", refused.detected);
        assert!(decide_for("picture.png", PDF).is_err());
        assert!(decide_for("notes.txt", PNG).is_err());
    }

    #[test]
    fn text_and_unknown_content_is_typed_by_extension() {
        assert_eq!(decide_for("notes.txt", b"hello").unwrap(), "text/plain");
        assert_eq!(
            decide_for("page.svg", b"<?xml version=\"1.0\"?><svg/>").unwrap(),
            "image/svg+xml"
        );
        assert_eq!(decide_for("data.csv", b"").unwrap(), "text/csv");
        assert_eq!(
            decide_for("blob", b"\0\x01\x02").unwrap(),
            "application/octet-stream"
        );
    }
}
