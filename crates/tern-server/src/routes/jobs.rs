//! `/api/v2/jobs`: bulk user imports, their status and their errors.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::clock::now_iso;
use tern_core::ids;
use tern_core::model::{Job, JobSpec, JobStatus, JobType};

use crate::auth::Caller;
use std::time::Duration;

use crate::body::{QueryMap, read_limited};
use crate::error::ApiError;
use crate::state::AppState;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::invalid_body(msg)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("Payload content length greater than maximum allowed: {limit}."),
    )
}

fn job_not_found() -> ApiError {
    ApiError::not_found("inexistent_job", "Job not found.")
}

/// The parts of an import request.
#[derive(Default)]
struct ImportForm {
    users: Option<Vec<u8>>,
    connection_id: Option<String>,
    upsert: Option<String>,
    external_id: Option<String>,
    send_completion_email: Option<String>,
    dry_run: Option<String>,
    tern_wait_ms: Option<String>,
}

fn flag(name: &str, v: Option<String>, default: bool) -> Result<bool, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(bad(format!(
            "Payload validation error: 'Expected type boolean but found type string' on property {name} (got '{other}')."
        ))),
    }
}

async fn read_form(s: &AppState, req: Request) -> Result<ImportForm, ApiError> {
    let limit = s.config.import.max_file_bytes;
    let is_multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(bad(
            "Payload validation error: 'Invalid multipart payload format'.",
        ));
    }
    // The whole request may carry the file plus a few small parts.
    let (parts, body) = req.into_parts();
    let bytes = read_limited(Request::from_parts(parts.clone(), body), limit + 64 * 1024)
        .await
        .map_err(|_| too_large(limit))?;
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| bad("Payload validation error: 'Invalid multipart payload format'."))?;
    let mut form = ImportForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(bad(
                    "Payload validation error: 'Invalid multipart payload format'.",
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let data = field
            .bytes()
            .await
            .map_err(|_| bad("Payload validation error: 'Invalid multipart payload format'."))?;
        let text = || String::from_utf8_lossy(&data).into_owned();
        match name.as_str() {
            "users" => {
                if data.len() > limit {
                    return Err(too_large(limit));
                }
                form.users = Some(data.to_vec());
            }
            "connection_id" => form.connection_id = Some(text()),
            "upsert" => form.upsert = Some(text()),
            "external_id" => form.external_id = Some(text()),
            "send_completion_email" => form.send_completion_email = Some(text()),
            "dry_run" => form.dry_run = Some(text()),
            "tern_wait_ms" => form.tern_wait_ms = Some(text()),
            // Auth0 tolerates extra parts (additionalProperties: true).
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /jobs/users-imports`.
#[utoipa::path(
    post,
    path = "/jobs/users-imports",
    operation_id = "create_users_import_job",
    tag = "jobs",
    summary = "Import users from a file",
    request_body(content = crate::openapi::UsersImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "The job, queued (with `tern_wait_ms`: as it is once it has ended or the wait is over).", body = crate::openapi::Job),
        (status = 400, description = "Invalid form, connection or flags (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The file is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:users"])),
)]
pub async fn create_import(
    State(s): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(&["create:users"])?;
    let form = read_form(&s, req).await?;
    let users = form
        .users
        .ok_or_else(|| bad("Must provide 'users' file as multipart part."))?;
    if users.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("Users file must not be empty."));
    }
    let file = String::from_utf8(users)
        .map_err(|_| bad("Payload validation error: the users file must be UTF-8 encoded JSON."))?;
    let connection_id = form
        .connection_id
        .map(|c| c.trim().to_string())
        .ok_or_else(|| bad("Must provide 'connection_id' as multipart part."))?;
    if !ids::is_connection_id(&connection_id) {
        return Err(bad(
            "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
        ));
    }
    let upsert = flag("upsert", form.upsert, false)?;
    let send_completion_email = flag("send_completion_email", form.send_completion_email, true)?;
    let dry_run = flag("dry_run", form.dry_run, false)?;
    let wait = match form.tern_wait_ms.as_deref().map(str::trim) {
        None | Some("") => Duration::ZERO,
        Some(ms) => ms
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms <= MAX_WAIT_MS)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                bad(format!(
                    "Payload validation error: 'tern_wait_ms' must be an integer from 0 to {MAX_WAIT_MS} (milliseconds), got '{ms}'."
                ))
            })?,
    };
    let external_id = form.external_id.filter(|e| !e.is_empty());
    if external_id.as_ref().is_some_and(|e| e.len() > 255) {
        return Err(bad(
            "Payload validation error: 'String is too long, maximum 255' on property external_id.",
        ));
    }
    let connection = s
        .store
        .get_connection(s.tid(), &connection_id)
        .await?
        .ok_or_else(|| bad("The connection does not exist."))?;
    crate::console_app::guard_user_change(&caller, &connection.name)?;
    if let Some(why) = crate::import_upload::refusal(&connection) {
        return Err(bad(why));
    }
    // Rows that give roles need the scopes the roles API needs: assigning
    // always, creating for names the tenant lacks (decided row by row as
    // the job runs; the runner also refuses rows whose roles the job may
    // not assign, should this look miss one).
    let assign_roles = caller.require(&["create:role_members"]).is_ok();
    let create_roles = caller.require(&["create:roles"]).is_ok();
    if !assign_roles && tern_core::import_job::file_names_roles(&file) {
        caller.require(&["create:role_members"])?;
    }
    let now = now_iso();
    let job = Job::pending(
        ids::job_id(),
        JobSpec {
            kind: JobType::UsersImport,
            connection_id: connection.id.clone(),
            connection: connection.name.clone(),
            upsert,
            upsert_credentials: upsert && caller.require(&["update:users"]).is_ok(),
            assign_roles,
            create_roles,
            external_id,
            send_completion_email,
            dry_run,
            export: None,
        },
        now,
    );
    let max = s.config.import.max_active_jobs;
    if !s.store.insert_import_job(s.tid(), &job, &file, max).await? {
        return Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "There are {max} active import users jobs, please wait until some of them are finished and try again"
            ),
            code: None,
        });
    }
    s.jobs_notify.notify_one();
    // Tern extension: the upload answers once its job has ended (or the wait
    // is over), so a client needs no poll for a small job — half the
    // requests against the rate limit. Still 202, with the job as it is.
    let job = if wait.is_zero() {
        job
    } else {
        held_job(&s, &job.id, wait).await?
    };
    Ok((StatusCode::ACCEPTED, Json(job_json(&s, &job))).into_response())
}

const VERIFICATION_FIELDS: &[&str] = &["user_id", "client_id", "identity", "organization_id"];

/// `POST /jobs/verification-email`.
#[utoipa::path(
    post,
    path = "/jobs/verification-email",
    operation_id = "post_verification_email",
    tag = "jobs",
    summary = "Send an email verification email",
    description = "Mails the user a link that verifies their address once (as `POST /tickets/email-verification` makes, valid 5 days). The mail is sent in the request: the job answered is `completed`, or `failed` when the mailer refused it, and `GET /jobs/{id}` shows it.",
    request_body(content = crate::openapi::VerificationEmailJobRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The job.", body = crate::openapi::VerificationEmailJob),
        (status = 400, description = "Invalid body, unknown client, `organization_id` (Tern has no organizations), an identity the user does not have, a user without email or blocked (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"])),
)]
pub async fn verification_email(
    State(s): State<AppState>,
    caller: Caller,
    crate::body::JsonBody(body): crate::body::JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["update:users"])?;
    let obj = super::object_with(&body, VERIFICATION_FIELDS)?;
    let (user, client_id) = super::tickets::verification_target(&s, &caller, obj).await?;
    let job = crate::verification::send_verification_email(&s, &user, client_id).await?;
    Ok((StatusCode::CREATED, Json(verification_job_json(&job))).into_response())
}

/// A verification-email job in Auth0's shape.
fn verification_job_json(job: &Job) -> Value {
    let mut v = json!({
        "id": job.id,
        "type": JobType::VerificationEmail.as_str(),
        "status": job.status.as_auth0(),
        "created_at": job.created_at,
    });
    if let Some(why) = &job.status_details {
        v["status_details"] = json!(why);
    }
    v
}

/// A job in Auth0's shape, with progress while processing and a summary once done.
pub fn job_json(s: &AppState, job: &Job) -> Value {
    let mut status = job.status.as_auth0();
    let age = time::OffsetDateTime::parse(
        &job.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| (time::OffsetDateTime::now_utc() - t).whole_seconds())
    .unwrap_or(0);
    if job.status == JobStatus::Completed && age > s.config.import.expire_after_secs {
        status = "expired";
    }
    let mut v = json!({
        "id": job.id,
        "type": "users_import",
        "status": status,
        "created_at": job.created_at,
        "connection_id": job.spec.connection_id,
        "connection": job.spec.connection,
        "upsert": job.spec.upsert,
        "send_completion_email": job.spec.send_completion_email,
    });
    if let Some(e) = &job.spec.external_id {
        v["external_id"] = json!(e);
    }
    if job.spec.dry_run {
        v["dry_run"] = json!(true);
    }
    match job.status {
        JobStatus::Waiting | JobStatus::Pending | JobStatus::Processing => {
            let total = job.total_rows.unwrap_or(0);
            let pct = (job.processed_rows * 100).checked_div(total).unwrap_or(0);
            v["percentage_done"] = json!(pct);
            let elapsed = time::OffsetDateTime::parse(
                &job.updated_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .zip(
                time::OffsetDateTime::parse(
                    &job.created_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok(),
            )
            .map(|(u, c)| (u - c).as_seconds_f64())
            .unwrap_or(0.0);
            let left = if job.processed_rows == 0 {
                0.0
            } else {
                elapsed / job.processed_rows as f64
                    * (total.saturating_sub(job.processed_rows)) as f64
            };
            v["time_left_seconds"] = json!(left.ceil() as u64);
        }
        JobStatus::Completed | JobStatus::Failed => {
            v["summary"] = json!({
                "failed": job.failed,
                "updated": job.updated,
                "inserted": job.inserted,
                "total": job.total_rows.unwrap_or(0),
            });
            // A Tern extension, only where a dry run's rows name roles it
            // would give: Auth0's summary stays as it is otherwise.
            if let Some(found) = job.dry_run_roles.as_ref().filter(|f| f.would_assign > 0) {
                v["summary"]["tern_roles"] = json!(found);
            }
            if let Some(d) = &job.status_details {
                v["status_details"] = json!(d);
            }
        }
    }
    v
}

fn check_job_id(id: &str) -> Result<(), ApiError> {
    let ok = id.len() == 20
        && id.starts_with("job_")
        && id[4..].bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$' on property id.",
        ))
    }
}

/// The longest `tern_wait_ms` a request may hold a connection for.
const MAX_WAIT_MS: u64 = 10_000;

/// A job once it has ended, or as it is after `wait` (`tern_wait_ms`).
async fn held_job(s: &AppState, id: &str, wait: Duration) -> Result<Job, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Registered before the read, so an end between the read and the
        // wait still wakes this request.
        let ended = s.jobs_ended.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        let job = s
            .store
            .get_job(s.tid(), id)
            .await?
            .ok_or_else(job_not_found)?;
        let running = job.status.is_running();
        if !running || tokio::time::Instant::now() >= deadline {
            return Ok(job);
        }
        tokio::select! {
            () = &mut ended => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// `GET /jobs/{id}`.
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    operation_id = "get_job",
    tag = "jobs",
    summary = "Get a job",
    params(
        ("id" = String, Path, pattern = "^job_[A-Za-z0-9]{16}$", description = "The job id."),
        ("tern_wait_ms" = Option<u64>, Query, maximum = 10000, description = "Tern extension: while the job is pending or processing, answer only once it has ended or after this many milliseconds (at most 10000), whichever comes first — one request instead of a polling loop. Absent or 0: answer at once, as Auth0."),
    ),
    responses(
        (status = 200, description = "The job.", body = crate::openapi::Job),
        (status = 400, description = "Not a job id (`invalid_uri`), or `tern_wait_ms` not an integer from 0 to 10000 (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such job (`inexistent_job`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:users"]), ("bearerAuth" = ["read:users"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["create:users", "read:users"])?;
    check_job_id(&id)?;
    let wait = Duration::from_millis(q.int("tern_wait_ms", 0, MAX_WAIT_MS)?.unwrap_or(0));
    let job = held_job(&s, &id, wait).await?;
    if job.spec.kind == JobType::VerificationEmail {
        return Ok(Json(verification_job_json(&job)));
    }
    if job.spec.kind == tern_core::model::JobType::UsersExport {
        let mut v = super::exports::export_json(&s, &job);
        // The link downloads every exported user: only for a caller who
        // may read users (`create:users` may see the job, not its file).
        if caller.require(&["read:users"]).is_err()
            && let Some(o) = v.as_object_mut()
        {
            o.remove("location");
        }
        return Ok(Json(v));
    }
    Ok(Json(job_json(&s, &job)))
}

/// `GET /jobs/{id}/errors`: 200 with the failed rows (hashes redacted, each
/// with its row `index` in the file — a Tern addition), 204 when none.
#[utoipa::path(
    get,
    path = "/jobs/{id}/errors",
    operation_id = "get_job_errors",
    tag = "jobs",
    summary = "Get the failed rows of a job",
    params(("id" = String, Path, pattern = "^job_[A-Za-z0-9]{16}$", description = "The job id.")),
    responses(
        (status = 200, description = "The failed rows, or the job when it failed as a whole.", body = crate::openapi::JobErrors),
        (status = 204, description = "No row failed."),
        (status = 400, description = "Not a job id (`invalid_uri`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such job (`inexistent_job`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:users"]), ("bearerAuth" = ["read:users"])),
)]
pub async fn errors(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&["create:users", "read:users"])?;
    check_job_id(&id)?;
    let job = s
        .store
        .get_job(s.tid(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("inexistent_job", "The job does not exist"))?;
    let records = s.store.job_errors(s.tid(), &id).await?;
    if records.is_empty() {
        if job.status == JobStatus::Failed {
            return Ok(Json(json!({
                "id": job.id, "type": "users_import", "status": "failed", "created_at": job.created_at,
                "connection_id": job.spec.connection_id, "status_details": job.status_details,
            }))
            .into_response());
        }
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(Value::Array(records)).into_response())
}
