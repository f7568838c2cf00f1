//! The HTTP surface shared by all handlers: request context, content
//! negotiation, cookies, security headers, static assets and the pages.

pub mod assets;
pub mod circuit;
pub mod client;
pub mod cookies;
pub mod cross_site;
pub mod csrf;
pub mod extract;
pub mod headers;
pub mod multipart;
pub mod negotiate;
pub mod pages;
pub mod visitor;

pub use extract::{Format, Input};

/// The largest form body read for its CSRF field; also the body limit of every
/// route except uploads.
pub const FORM_LIMIT: usize = 64 * 1024;
pub use visitor::{CurrentUser, Visitor};
