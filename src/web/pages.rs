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
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub message: String,
}
