//! Schemas of the Actions endpoints (`/actions/actions`, the post-login
//! trigger's bindings): Auth0's shapes for what Tern serves.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A trigger an action supports (only `post-login`).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionTrigger {
    /// The trigger id: `post-login`.
    pub id: String,
    /// The trigger's version (`v3`).
    #[schema(nullable = false)]
    pub version: Option<String>,
}

/// A secret as sent: a name and its value.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionSecretRequest {
    /// What the code reads as `event.secrets.NAME`.
    pub name: String,
    /// The value; absent keeps the stored value of that name.
    #[schema(nullable = false)]
    pub value: Option<String>,
}

/// A secret as answered: its name, never its value.
#[derive(Serialize, ToSchema)]
pub struct ActionSecretResponse {
    /// The name.
    pub name: String,
    /// When the value was set.
    pub updated_at: String,
}

/// An npm module an action names (only modules the sandbox provides).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionDependency {
    /// The module's name.
    pub name: String,
    /// Its version (recorded; the sandbox's module is what runs).
    #[schema(nullable = false)]
    pub version: Option<String>,
}

/// The body of `POST /actions/actions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionCreate {
    /// Unique in the tenant.
    pub name: String,
    /// `[{"id": "post-login"}]`.
    pub supported_triggers: Vec<ActionTrigger>,
    /// The module source exporting `onExecutePostLogin`.
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// Only modules the sandbox provides.
    #[schema(nullable = false)]
    pub dependencies: Option<Vec<ActionDependency>>,
    /// Recorded (`node22` by default).
    #[schema(nullable = false)]
    pub runtime: Option<String>,
    /// Secrets, sealed at rest and never answered.
    #[schema(nullable = false)]
    pub secrets: Option<Vec<ActionSecretRequest>>,
    /// Action modules: not supported, must be empty.
    #[schema(nullable = false)]
    pub modules: Option<Vec<Value>>,
    /// Deploy at once.
    #[schema(nullable = false)]
    pub deploy: Option<bool>,
}

/// The body of `PATCH /actions/actions/{id}`: the draft's fields to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    /// Unique in the tenant.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// `[{"id": "post-login"}]`.
    #[schema(nullable = false)]
    pub supported_triggers: Option<Vec<ActionTrigger>>,
    /// The module source.
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// Only modules the sandbox provides.
    #[schema(nullable = false)]
    pub dependencies: Option<Vec<ActionDependency>>,
    /// Recorded.
    #[schema(nullable = false)]
    pub runtime: Option<String>,
    /// The new list of secrets.
    #[schema(nullable = false)]
    pub secrets: Option<Vec<ActionSecretRequest>>,
    /// Must be empty.
    #[schema(nullable = false)]
    pub modules: Option<Vec<Value>>,
}

/// A deployed version of an action.
#[derive(Serialize, ToSchema)]
pub struct ActionVersion {
    /// The version's id.
    pub id: String,
    /// The action's id.
    pub action_id: String,
    /// The source that runs.
    pub code: String,
    /// As deployed.
    pub dependencies: Vec<ActionDependency>,
    /// Always true: Tern keeps the deployed version only.
    pub deployed: bool,
    /// As deployed.
    pub runtime: String,
    /// Names of the secrets as deployed.
    pub secrets: Vec<ActionSecretResponse>,
    /// `built`.
    pub status: String,
    /// 1, 2, … in deploy order.
    pub number: u64,
    /// When deployed.
    pub created_at: String,
}

/// An action.
#[derive(Serialize, ToSchema)]
pub struct Action {
    /// Auth0's uuid form.
    pub id: String,
    /// Unique in the tenant.
    pub name: String,
    /// `[{"id": "post-login", "version": "v3"}]`.
    pub supported_triggers: Vec<ActionTrigger>,
    /// Whether the deployed version is the draft.
    pub all_changes_deployed: bool,
    /// When created.
    pub created_at: String,
    /// When the draft last changed.
    pub updated_at: String,
    /// The draft's source.
    pub code: String,
    /// The draft's modules.
    pub dependencies: Vec<ActionDependency>,
    /// The draft's runtime.
    pub runtime: String,
    /// Names of the draft's secrets.
    pub secrets: Vec<ActionSecretResponse>,
    /// The version that runs, once deployed.
    #[schema(nullable = false)]
    pub deployed_version: Option<ActionVersion>,
    /// `built`.
    pub status: String,
}

/// `GET /actions/actions`.
#[derive(Serialize, ToSchema)]
pub struct ActionList {
    /// Actions in all pages.
    pub total: u64,
    /// This page.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// The page's actions, by name.
    pub actions: Vec<Action>,
}

/// The filters and paging of `GET /actions/actions`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct ActionListParams {
    /// Only actions supporting this trigger (`post-login`).
    #[param(nullable = false)]
    pub triggerId: Option<String>,
    /// Only the action of this name.
    #[param(nullable = false)]
    pub actionName: Option<String>,
    /// Only deployed (true) or undeployed (false) actions.
    #[param(nullable = false)]
    pub deployed: Option<bool>,
    /// Zero-based page.
    #[param(minimum = 0, maximum = 4_294_967_295_u64, nullable = false)]
    pub page: Option<u64>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 0, maximum = 100, nullable = false)]
    pub per_page: Option<u64>,
    /// Installed (marketplace) actions: Tern has none, so true lists nothing.
    #[param(nullable = false)]
    pub installed: Option<bool>,
}

/// Paging of `GET /actions/triggers/{triggerId}/bindings`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BindingListParams {
    /// Zero-based page.
    #[param(minimum = 0, maximum = 4_294_967_295_u64, nullable = false)]
    pub page: Option<u64>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 0, maximum = 100, nullable = false)]
    pub per_page: Option<u64>,
}

/// How a binding names its action.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionBindingRef {
    /// `action_id`, `action_name` or `binding_id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The id or name.
    pub value: String,
}

/// One binding as sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBindingWithRef {
    /// The action.
    #[serde(rename = "ref")]
    pub reference: ActionBindingRef,
    /// The binding's name (the action's when absent).
    #[schema(nullable = false)]
    pub display_name: Option<String>,
}

/// `PATCH /actions/triggers/{triggerId}/bindings`: the whole ordered list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBindingsUpdate {
    /// In execution order.
    #[schema(nullable = false)]
    pub bindings: Option<Vec<ActionBindingWithRef>>,
}

/// A binding of an action to a trigger.
#[derive(Serialize, ToSchema)]
pub struct ActionBinding {
    /// The binding's id.
    pub id: String,
    /// `post-login`.
    pub trigger_id: String,
    /// The binding's name.
    pub display_name: String,
    /// The bound action.
    pub action: Action,
    /// When created.
    pub created_at: String,
    /// When last changed.
    pub updated_at: String,
}

/// `PATCH /actions/triggers/{triggerId}/bindings`.
#[derive(Serialize, ToSchema)]
pub struct ActionBindingsUpdated {
    /// In execution order.
    pub bindings: Vec<ActionBinding>,
}

/// `GET /actions/triggers/{triggerId}/bindings`.
#[derive(Serialize, ToSchema)]
pub struct ActionBindingList {
    /// Bindings in all pages.
    pub total: u64,
    /// This page.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// In execution order.
    pub bindings: Vec<ActionBinding>,
}

/// `DELETE /actions/actions/{id}` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionDeleteParams {
    /// Delete a bound action too, unbinding it.
    #[param(nullable = false)]
    pub force: Option<bool>,
}
