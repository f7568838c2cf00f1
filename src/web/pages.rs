//! The HTML pages: one Askama template struct per page, all sharing [`Layout`].

use askama::Template;
use askama_web::WebTemplate;

/// Severity of a one-shot message shown at the top of the next page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    /// CSS modifier class and ARIA role hint for the template.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// A one-shot message ("Signed out.") carried to the next page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

/// What every page's layout needs, filled in by the request's context.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Page title, without the site name.
    pub title: String,
    /// Signed-in user's name, if any: switches the navigation.
    pub user: Option<String>,
    /// CSRF token for the forms on this page, including the sign-out button.
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    /// The service's `.onion` address, shown in the footer when configured.
    pub onion_url: Option<String>,
    /// URL of the stylesheet, versioned by its content hash.
    pub stylesheet: &'static str,
    /// URL of the site's icon, versioned the same way.
    pub favicon: &'static str,
    /// URL of the script every page loads (local times).
    pub site_script: &'static str,
    /// Request path, to mark the current navigation entry.
    pub path: String,
}

/// Form values and per-field messages kept when a form is shown again.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub layout: Layout,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    /// What the user typed, so a failed attempt does not clear it.
    pub username: String,
    /// Same-site path to return to after signing in.
    pub next: Option<String>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub username: String,
    pub email: String,
    pub errors: FieldErrors,
    /// A problem not tied to one field ("That username is taken").
    pub error: Option<String>,
    pub registration: crate::config::Registration,
    /// The invite code given, if any.
    pub invite: String,
}

/// A stored file as the pages show it.
#[derive(Clone, Debug)]
pub struct FileView {
    pub id: i32,
    /// The name it was uploaded under (display only; escaped by the template).
    pub name: String,
    /// Human size such as "1.4 MB".
    pub size: String,
    pub size_bytes: i64,
    /// The exact byte count, grouped in thousands (`1,234,567`).
    pub size_exact: String,
    /// Whether its stamp has a transparency-log entry besides the time-stamp
    /// and the signature (files stored before the log have none).
    pub logged: bool,
    pub sha256: String,
    pub content_type: String,
    /// Display form, e.g. "2026-11-30 12:00:00 UTC".
    pub uploaded_at: String,
    /// RFC 3339, for `<time datetime>`.
    pub uploaded_at_iso: String,
    /// Moved in from the original application and stamped then: what that
    /// application said of its upload, if anything.
    pub imported: Option<Imported>,
}

/// A file brought over from the original application.
#[derive(Clone, Debug)]
pub struct Imported {
    /// Its recorded upload time, display form, which no proof covers.
    pub claimed: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    /// The newest files.
    pub files: Vec<FileView>,
    /// Whether there are more than shown (link to `/files`).
    pub more: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "files.html")]
pub struct FilesPage {
    pub layout: Layout,
    pub files: Vec<FileView>,
    /// Link to the next (older) page, if any.
    pub next: Option<String>,
    /// Whether this is the first page (else a link back to it is shown).
    pub first_page: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "file.html")]
pub struct FilePage {
    pub layout: Layout,
    pub file: FileView,
    /// The OpenPGP key that signed it.
    pub fingerprint: String,
    /// Its place in the transparency log, once the log has taken it in.
    pub log: Option<LogPlace>,
    /// The log's name, as its checkpoints and monitors know it.
    pub log_origin: String,
}

/// Where a file's stamp sits in the transparency log.
#[derive(Clone, Debug)]
pub struct LogPlace {
    /// The entry's index (0-based).
    pub index: u64,
    /// The size of the latest checkpoint, which includes the entry.
    pub tree_size: u64,
}

#[derive(Template, WebTemplate)]
#[template(path = "upload.html")]
pub struct UploadPage {
    pub layout: Layout,
    /// Why the last upload was refused.
    pub error: Option<String>,
    /// `MAX_CONTENT_LENGTH` in bytes, for the script's check before sending.
    pub max_bytes: u64,
    /// The accepted extensions, comma-separated, empty for any.
    pub extension_list: String,
    /// Largest request, human form ("10 GiB").
    pub max_size: String,
    /// Accepted extensions as text ("pdf, png, txt" or "any").
    pub extensions: String,
    /// The same as an `accept` attribute value (".pdf,.png") or empty for any.
    pub accept: String,
    /// URL of the progress script, versioned by its content hash.
    pub script: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub message: String,
}

/// "Are you sure?" before something that cannot be undone, as a page of its
/// own so that it works without JavaScript: the button posts, the link goes back.
#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub question: String,
    pub consequences: Vec<String>,
    /// Where the confirming form posts.
    pub action: String,
    /// The confirming button's label.
    pub confirm: &'static str,
    /// Where "Keep it" leads.
    pub back: String,
}

/// A personal API token as the settings page lists it (never the token itself).
#[derive(Clone, Debug)]
pub struct TokenView {
    pub id: i32,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    pub tokens: Vec<TokenView>,
    /// A token just created: shown this once.
    pub created: Option<String>,
    /// Why the last creation was refused.
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "delete_account.html")]
pub struct DeleteAccountPage {
    pub layout: Layout,
    pub username: String,
    /// Whether a second-factor code is asked too.
    pub two_factor: bool,
    pub error: Option<String>,
}

/// One live session as the sessions page lists it.
pub struct SessionView {
    pub id: String,
    /// "Firefox on Linux".
    pub device: String,
    /// The whole `User-Agent`, on hover.
    pub user_agent: String,
    pub client_address: String,
    pub signed_in_at: String,
    pub last_seen_at: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    pub layout: Layout,
    pub sessions: Vec<SessionView>,
}

/// One audit event as the activity page lists it.
pub struct EventView {
    pub what: &'static str,
    /// The whole `User-Agent`, on hover.
    pub user_agent: String,
    pub detail: String,
    pub client_address: String,
    pub device: String,
    pub at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub layout: Layout,
    pub events: Vec<EventView>,
    /// The next (older) page.
    pub next: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "two_factor.html")]
pub struct TwoFactorPage {
    pub layout: Layout,
    pub username: String,
    pub on: bool,
    pub recovery_codes_left: i64,
    /// While an authenticator is being set up: its secret in base32…
    pub secret: Option<String>,
    /// …and its QR code, an SVG drawn by this server.
    pub qr_svg: Option<String>,
    /// Just made: shown this once.
    pub recovery_codes: Vec<String>,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    pub layout: Layout,
    /// The sign-in waiting for its code.
    pub ticket: String,
    pub next: Option<String>,
    /// Why the last code was refused.
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub username: String,
    pub email: String,
    /// Why the last password change was refused.
    pub password_error: Option<String>,
    /// Why the last email change was refused.
    pub email_error: Option<String>,
}

/// One proof's verdict as the verify page shows it.
#[derive(Clone, Debug)]
pub struct CheckView {
    pub proof: &'static str,
    pub holds: bool,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub layout: Layout,
    /// The verdicts, once a file and receipt were checked.
    pub checks: Vec<CheckView>,
    pub checked: bool,
    /// What the checks mean, in one plain sentence, before the details.
    pub summary: String,
    /// The receipt names keys other than this server's.
    pub foreign: bool,
    pub all_hold: bool,
    /// Proofs not checked from what was given ("OpenPGP signature: …").
    pub not_checked: Vec<String>,
    /// Why the check could not run.
    pub error: Option<String>,
}
