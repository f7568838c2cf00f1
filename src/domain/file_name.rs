//! [`FileName`]: the name a file was uploaded under, made safe to keep and show.

use std::fmt;

/// The longest name kept, in characters (the column holds 255).
const MAX_CHARS: usize = 200;

/// An uploaded file's name for display and download headers only: it never
/// becomes a path. Directory parts, control and bidirectional-override
/// characters are removed and the length is bounded, so any name a client
/// sends (`../../x`, `CON`, 300 characters, `evil\u{202E}fdp.exe`) is accepted
/// as something harmless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    pub fn parse(raw: &str) -> FileName {
        // Browsers send a base name, but some clients send a whole path.
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base
            .chars()
            .filter(|c| !c.is_control() && !is_invisible(*c))
            .collect::<String>()
            .trim_matches(|c: char| c.is_whitespace() || c == '.')
            .to_owned();
        let name = if cleaned.is_empty() {
            "unnamed".to_owned()
        } else {
            cleaned
        };
        FileName(shorten(&name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case extension without its dot, if the name has one.
    pub fn extension(&self) -> Option<String> {
        let (stem, extension) = self.0.rsplit_once('.')?;
        (!stem.is_empty() && !extension.is_empty() && !extension.contains(' '))
            .then(|| extension.to_lowercase())
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Zero-width and direction-changing characters that make a name read as
/// something it is not.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// Cuts an over-long name in the middle of its stem, keeping the extension.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_owned();
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if extension.chars().count() <= 16 => (stem, Some(extension)),
        _ => (name, None),
    };
    let keep = MAX_CHARS - extension.map_or(0, |e| e.chars().count() + 1) - 1;
    let mut short: String = stem.chars().take(keep).collect();
    short.push('…');
    if let Some(extension) = extension {
        short.push('.');
        short.push_str(extension);
    }
    short
}

/// The `Content-Disposition` value for downloading a file under `name`
/// (RFC 6266: an ASCII fallback plus the exact name in `filename*`).
pub fn content_disposition(name: &FileName) -> String {
    let fallback: String = name
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = percent_encoding::utf8_percent_encode(name.as_str(), ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// RFC 5987 `attr-char`: everything else is percent-encoded.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_dots_are_stripped() {
        assert_eq!(FileName::parse("../../etc/passwd").as_str(), "passwd");
        assert_eq!(
            FileName::parse("C:\\Users\\me\\report.pdf").as_str(),
            "report.pdf"
        );
        assert_eq!(FileName::parse("..").as_str(), "unnamed");
        assert_eq!(FileName::parse("").as_str(), "unnamed");
        assert_eq!(FileName::parse("a/b/").as_str(), "unnamed");
    }

    #[test]
    fn spaces_and_dots_at_either_end_go_together() {
        assert_eq!(FileName::parse(". a .").as_str(), "a");
        assert_eq!(FileName::parse(" . .hidden. ").as_str(), "hidden");
        assert_eq!(FileName::parse(". . .").as_str(), "unnamed");
    }

    #[test]
    fn control_and_bidi_characters_are_removed() {
        assert_eq!(
            FileName::parse("evil\u{202E}fdp.exe").as_str(),
            "evilfdp.exe"
        );
        assert_eq!(FileName::parse("nul\0byte\n.txt").as_str(), "nulbyte.txt");
    }

    #[test]
    fn device_names_and_unicode_are_kept_as_plain_text() {
        assert_eq!(FileName::parse("CON").as_str(), "CON");
        assert_eq!(
            FileName::parse("Résumé 履歴書.pdf").extension().as_deref(),
            Some("pdf")
        );
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = FileName::parse(&format!("{}.PDF", "x".repeat(300)));
        assert_eq!(name.as_str().chars().count(), 200);
        assert_eq!(name.extension().as_deref(), Some("pdf"));
    }

    #[test]
    fn extensions_need_a_stem() {
        assert_eq!(FileName::parse(".bashrc").extension(), None);
        assert_eq!(
            FileName::parse("archive.tar.gz").extension().as_deref(),
            Some("gz")
        );
        assert_eq!(FileName::parse("README").extension(), None);
    }

    #[test]
    fn downloads_name_the_file_exactly_and_safely() {
        let header = content_disposition(&FileName::parse("naïve \"quote\".txt"));
        assert_eq!(
            header,
            "attachment; filename=\"na_ve _quote_.txt\"; filename*=UTF-8''na%C3%AFve%20%22quote%22.txt"
        );
    }
}
