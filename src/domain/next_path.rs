//! [`NextPath`]: where to go after signing in, limited to this site.

/// A same-site path such as `/files/3?page=2`. Anything that a browser could
/// read as another origin (`//evil`, `/\evil`, `https://evil`) is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextPath(String);

impl NextPath {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut chars = raw.chars();
        let starts_with_one_slash =
            chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'));
        // Browsers treat `\` as `/` and drop tabs and newlines inside URLs, so
        // none of them may appear anywhere.
        let clean = !raw
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
        (starts_with_one_slash && clean && raw.len() <= 2048).then(|| NextPath(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::NextPath;

    #[test]
    fn local_paths_are_kept() {
        for good in ["/", "/dashboard", "/files/3?page=2", "/files#x"] {
            assert_eq!(NextPath::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused() {
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "evil.example",
            "javascript:alert(1)",
            "",
            "/ok\n",
        ] {
            assert_eq!(NextPath::parse(bad), None, "{bad:?} should be refused");
        }
    }
}
