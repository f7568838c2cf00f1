//! The HTTP surface shared by all handlers: request context, content
//! negotiation, cookies, security headers, static assets and the pages.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod extract;
pub mod headers;
pub mod negotiate;
pub mod pages;
pub mod visitor;

pub use extract::{Format, Input};
pub use visitor::{CurrentUser, Visitor};
