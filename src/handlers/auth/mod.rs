//! `/auth/*`: registration, sign-in and sign-out, as HTML forms and JSON.

pub mod login;
pub mod logout;
pub mod register;
pub mod second_factor;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::web::CurrentUser;
use crate::web::cookies;
use crate::web::pages::{Flash, FlashKind};

/// The public view of an account in JSON answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserObject {
    pub id: i32,
    pub username: String,
    pub email: String,
}

impl From<&CurrentUser> for UserObject {
    fn from(user: &CurrentUser) -> UserObject {
        UserObject {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
        }
    }
}

/// A 303 to `to` that shows `message` on the page it lands on.
pub fn redirect_with_flash(
    state: &AppState,
    secure: bool,
    to: &str,
    kind: FlashKind,
    message: impl Into<String>,
) -> Response {
    let mut response = Redirect::to(to).into_response();
    let flash = Flash {
        kind,
        message: message.into(),
    };
    cookies::set(
        &mut response,
        &cookies::flash(&state.secrets, secure, &[flash]),
    );
    response
}
