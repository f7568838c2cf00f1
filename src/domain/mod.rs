//! Input parsed into validated types at the edge ("parse, don't validate").
//!
//! A handler that holds a [`Username`] knows it is well-formed; nothing deeper
//! in the program checks again.

mod account;
mod file_name;
mod ids;
mod next_path;

pub use account::{Email, Password, Username};
pub use file_name::{FileName, content_disposition};
pub use ids::{ContentHash, FileId};
pub use next_path::NextPath;

/// Why a field's value was refused; shown to the user next to the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}
