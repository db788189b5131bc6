//! Metadata changes written by compare and swap (`PATCH /users/{id}` and a
//! login's post-login actions): the user's two documents are read, the
//! changes applied to them, and the write requires the stored documents to
//! still be those read; when another write moved them in between, they are
//! read again. No lock is held while the changes are applied, and the same
//! statements serve both backends.

use std::time::Duration;

use tern_core::model::JsonObject;
use tern_core::users::MetadataEdit;
use tern_core::{CoreError, CoreResult};

/// Reads and writes an edit may take before giving up (each retry follows
/// a change someone else made to the same user's metadata).
pub(super) const ATTEMPTS: u32 = 6;

/// A user's metadata documents as stored (their text, which the write
/// compares).
pub(super) struct StoredMetadata {
    pub app: String,
    pub user: String,
}

impl StoredMetadata {
    /// The documents with `edit` applied.
    pub fn edited(
        &self,
        edit: &MetadataEdit,
        user_id: &str,
    ) -> CoreResult<(JsonObject, JsonObject)> {
        let decode = |text: &str| -> CoreResult<JsonObject> {
            serde_json::from_str(text)
                .map_err(|e| CoreError::Storage(format!("corrupt metadata of {user_id}: {e}")))
        };
        let mut app = decode(&self.app)?;
        let mut user = decode(&self.user)?;
        edit.app.apply_to(&mut app);
        edit.user.apply_to(&mut user);
        Ok((app, user))
    }
}

/// Wait before reading again after the documents moved under attempt
/// `attempt`: jittered and growing, so two racing writers do not meet again.
pub(super) async fn pause(attempt: u32) {
    let planned = Duration::from_millis(5 << attempt);
    tokio::time::sleep(tern_core::retry::jittered(planned)).await;
}

/// The error once [`ATTEMPTS`] writes found the documents moved.
pub(super) fn kept_moving(user_id: &str) -> CoreError {
    CoreError::Storage(format!(
        "the metadata of {user_id} kept changing while another write was made; try again"
    ))
}
