//! `/api/v2/keys/signing`: the tenant's signing keys, their rotation and
//! revocation (Auth0's contract; the logic is `keys::rotation`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::model::{SigningKey, SigningKeyState};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::keys::material::CertInfo;
use crate::keys::rotation;
use crate::state::AppState;

/// A key as Auth0 answers it.
fn view(key: &SigningKey) -> Value {
    let info = CertInfo::of(&key.cert_pem);
    let mut v = json!({
        "kid": key.kid,
        "cert": key.cert_pem,
        "current": key.state == SigningKeyState::Current,
        "next": key.state == SigningKeyState::Next,
        "previous": key.state == SigningKeyState::Previous,
        "revoked": key.state == SigningKeyState::Revoked,
        "fingerprint": info.as_ref().map(|i| i.fingerprint.as_str()).unwrap_or_default(),
        "thumbprint": info.as_ref().map(|i| i.thumbprint.as_str()).unwrap_or_default(),
    });
    if let Some(i) = &info {
        v["pkcs7"] = json!(i.pkcs7);
    }
    for (name, at) in [
        ("current_since", &key.current_since),
        ("current_until", &key.current_until),
        ("revoked_at", &key.revoked_at),
    ] {
        if let Some(at) = at {
            v[name] = json!(at);
        }
    }
    v
}

/// `GET /keys/signing`.
#[utoipa::path(
    get,
    path = "/keys/signing",
    operation_id = "get_signing_keys",
    tag = "keys",
    summary = "Get all signing keys",
    description = "Every signing key of the tenant, revoked ones included, newest first: the current key, the next key (published ahead of use), previous keys (their tokens still verify) and revoked keys.",
    responses(
        (status = 200, description = "The signing keys.", body = Vec<crate::openapi::SigningKeyBody>),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:signing_keys"])),
)]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:signing_keys"])?;
    let keys = rotation::list(&s.keys).await?;
    Ok(Json(Value::Array(keys.iter().map(view).collect())))
}

/// `GET /keys/signing/{kid}`.
#[utoipa::path(
    get,
    path = "/keys/signing/{kid}",
    operation_id = "get_signing_key",
    tag = "keys",
    summary = "Get a signing key by its key id",
    params(("kid" = String, Path, description = "The key id.")),
    responses(
        (status = 200, description = "The signing key.", body = crate::openapi::SigningKeyBody),
        (status = 404, description = "No such key (`inexistent_signing_key`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:signing_keys"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:signing_keys"])?;
    Ok(Json(view(&rotation::get(&s.keys, &kid).await?)))
}

/// `POST /keys/signing/rotate`.
#[utoipa::path(
    post,
    path = "/keys/signing/rotate",
    operation_id = "post_signing_keys",
    tag = "keys",
    summary = "Rotate the signing key",
    description = "The next key becomes the current key and signs every token from now on; the current key becomes a previous key (its tokens stay valid until it is revoked); a new next key is created and answered. Other instances on the same database follow within `keys.reload_secs`.",
    responses(
        (status = 201, description = "Rotated; the new next key.", body = crate::openapi::SigningKeyRef),
        (status = 409, description = "Another request rotated or revoked the keys at the same time (`conflict`); nothing changed.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:signing_keys", "update:signing_keys"])),
)]
pub async fn rotate(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_all(&["create:signing_keys", "update:signing_keys"])?;
    let next = rotation::rotate(&s.keys, rotation::common_name(&s.public_url)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"cert": next.cert_pem, "kid": next.kid})),
    ))
}

/// `PUT /keys/signing/{kid}/revoke`.
#[utoipa::path(
    put,
    path = "/keys/signing/{kid}/revoke",
    operation_id = "put_signing_keys",
    tag = "keys",
    summary = "Revoke a signing key by its key id",
    description = "Only a previous key can be revoked. It leaves the JWKS at once, every token it signed is refused, and its private key is erased; other instances on the same database follow within `keys.reload_secs`.",
    params(("kid" = String, Path, description = "The key id of a previous key.")),
    responses(
        (status = 200, description = "Revoked.", body = crate::openapi::SigningKeyRef),
        (status = 400, description = "The key is the current or the next key, or already revoked (`operation_not_supported`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such key (`inexistent_signing_key`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "The key changed at the same time (`conflict`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:signing_keys"])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["update:signing_keys"])?;
    let key = rotation::revoke(&s.keys, &kid).await?;
    Ok(Json(json!({"cert": key.cert_pem, "kid": key.kid})))
}
