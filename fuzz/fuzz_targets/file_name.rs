//! Any name a client gives a file becomes one that is safe to keep, show and
//! send back: no path, no control or invisible character, no leading or
//! trailing space or dot, at most 200 characters, the same when cleaned
//! again, and a `Content-Disposition` that is a valid header with an ASCII
//! fallback. Run with `cargo fuzz run file_name`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use securestamp::domain::{FileName, content_disposition};

fuzz_target!(|raw: &str| {
    let name = FileName::parse(raw);
    let text = name.as_str();
    assert!(!text.is_empty());
    assert!(text.chars().count() <= 200, "{text:?}");
    assert!(!text.contains(['/', '\\']), "{text:?}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(
        !text.starts_with(|c: char| c.is_whitespace() || c == '.')
            && !text.ends_with(|c: char| c.is_whitespace() || c == '.'),
        "{text:?}"
    );
    assert_eq!(FileName::parse(text), name, "cleaning is idempotent");
    if let Some(extension) = name.extension() {
        assert!(text.to_lowercase().ends_with(&format!(".{extension}")));
    }
    let header = content_disposition(&name);
    assert!(axum::http::HeaderValue::from_str(&header).is_ok(), "{header:?}");
    let fallback = header
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.split_once("\"; filename*=UTF-8''"))
        .map(|(fallback, _)| fallback)
        .expect("the header's shape");
    assert!(fallback.is_ascii() && !fallback.contains(['"', '\\']), "{header:?}");
});
