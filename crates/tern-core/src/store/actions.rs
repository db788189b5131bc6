//! Actions and their trigger bindings (see `actions`).

use crate::CoreResult;
use crate::actions::{Action, ActionBinding};
use crate::users::MetadataEdit;

/// How a compare-and-swap replacement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Stored.
    Done,
    /// Nothing of that id is stored.
    Gone,
    /// Another write landed after the read: nothing stored.
    Moved,
}

/// Storing actions and the ordered bindings of each trigger.
#[async_trait::async_trait]
pub trait ActionStore: Send + Sync {
    /// Insert an action; `Conflict` when its name is taken.
    async fn insert_action(&self, tenant: &str, action: &Action) -> CoreResult<()>;
    /// An action by id.
    async fn get_action(&self, tenant: &str, id: &str) -> CoreResult<Option<Action>>;
    /// Every action, by name.
    async fn list_actions(&self, tenant: &str) -> CoreResult<Vec<Action>>;
    /// Replace an action read at `action.revision`, storing it at the next
    /// revision — only if the stored one is still at the revision read;
    /// `Conflict` on a taken name.
    async fn update_action(&self, tenant: &str, action: &Action) -> CoreResult<Replaced>;
    /// Delete an action and, in the same transaction, every binding of it;
    /// false if it did not exist.
    async fn delete_action(&self, tenant: &str, id: &str) -> CoreResult<bool>;
    /// A trigger's bindings in execution order (empty when never set).
    async fn get_action_bindings(
        &self,
        tenant: &str,
        trigger: &str,
    ) -> CoreResult<Vec<ActionBinding>>;
    /// Replace a trigger's bindings.
    async fn put_action_bindings(
        &self,
        tenant: &str,
        trigger: &str,
        bindings: &[ActionBinding],
    ) -> CoreResult<()>;
    /// What a login's actions set with `api.user.setAppMetadata` /
    /// `setUserMetadata`, applied to the user's metadata as stored when the
    /// write is made (a change made since the login read the user is kept
    /// unless an action set the same key); false when the user is gone.
    async fn change_user_metadata_from_actions(
        &self,
        tenant: &str,
        user_id: &str,
        edit: &MetadataEdit,
        updated_at: &str,
    ) -> CoreResult<bool>;
}
