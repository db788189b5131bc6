//! `/api/v2/email-templates`: the tenant's mail as Auth0 templates (Liquid).

use axum::Json;
use axum::extract::{Path, State};
use tern_core::email_templates::{self, EmailTemplate, TemplateWrite};

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::email_templates::not_found;
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /email-templates`.
#[utoipa::path(
    post,
    path = "/email-templates",
    operation_id = "post_email-templates",
    tag = "email-templates",
    summary = "Create an email template",
    request_body(content = crate::openapi::EmailTemplate, content_type = "application/json"),
    responses(
        (status = 200, description = "The template.", body = crate::openapi::EmailTemplate),
        (status = 400, description = "A missing or unknown property, a name Auth0 does not know, a `from` that is not an address, a `resultUrl` that is not http(s), or a subject or body that is not valid Liquid (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "A template of this name exists (`email_template_conflict`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:email_templates"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<EmailTemplate>, ApiError> {
    caller.require(&["create:email_templates"])?;
    Ok(Json(crate::email_templates::create(&s, &body).await?))
}

/// `GET /email-templates/{templateName}`.
#[utoipa::path(
    get,
    path = "/email-templates/{template_name}",
    operation_id = "get_email-templates_by_templateName",
    tag = "email-templates",
    summary = "Get an email template",
    params(("template_name" = crate::openapi::EmailTemplateName, Path, description = "The template's name.")),
    responses(
        (status = 200, description = "The template.", body = crate::openapi::EmailTemplate),
        (status = 400, description = "A name Auth0 does not know (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "The template was never set (`inexistent_email_template`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:email_templates"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<EmailTemplate>, ApiError> {
    caller.require(&["read:email_templates"])?;
    email_templates::check_name(&name)?;
    let t = s.store.get_email_template(s.tid(), &name).await?;
    Ok(Json(t.ok_or_else(not_found)?))
}

/// `PATCH /email-templates/{templateName}`: the properties given replace the stored ones.
#[utoipa::path(
    patch,
    path = "/email-templates/{template_name}",
    operation_id = "patch_email-templates_by_templateName",
    tag = "email-templates",
    summary = "Change an email template",
    params(("template_name" = crate::openapi::EmailTemplateName, Path, description = "The template's name.")),
    request_body(content = crate::openapi::EmailTemplate, content_type = "application/json"),
    responses(
        (status = 200, description = "The template.", body = crate::openapi::EmailTemplate),
        (status = 400, description = "An unknown property or name, a `template` other than the path's, a `from` that is not an address, a `resultUrl` that is not http(s), or Liquid that does not parse (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "The template was never set (`inexistent_email_template`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:email_templates"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<EmailTemplate>, ApiError> {
    caller.require(&["update:email_templates"])?;
    let t = crate::email_templates::write(&s, &name, &body, TemplateWrite::Update).await?;
    Ok(Json(t))
}

/// `PUT /email-templates/{templateName}`: the template replaced as a whole.
#[utoipa::path(
    put,
    path = "/email-templates/{template_name}",
    operation_id = "put_email-templates_by_templateName",
    tag = "email-templates",
    summary = "Replace an email template",
    params(("template_name" = crate::openapi::EmailTemplateName, Path, description = "The template's name.")),
    request_body(content = crate::openapi::EmailTemplate, content_type = "application/json"),
    responses(
        (status = 200, description = "The template.", body = crate::openapi::EmailTemplate),
        (status = 400, description = "A missing or unknown property, a `template` other than the path's, a `from` that is not an address, a `resultUrl` that is not http(s), or Liquid that does not parse (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "The template was never set (`inexistent_email_template`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:email_templates"])),
)]
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<EmailTemplate>, ApiError> {
    caller.require(&["update:email_templates"])?;
    let t = crate::email_templates::write(&s, &name, &body, TemplateWrite::Replace).await?;
    Ok(Json(t))
}
