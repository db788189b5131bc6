//! `POST /api/v2/jobs/users-exports` and the signed download of its file.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tern_core::clock::now_epoch;
use tern_core::ids;
use tern_core::model::{ExportField, ExportSpec, Job, JobStatus};

use super::{field, object_with};
use crate::auth::{Caller, verify_bearer};
use crate::body::{QueryMap, read_limited};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a download link stays valid (Auth0: 60 s; fetch the job again for a new one).
const LINK_SECS: i64 = 60;

/// `POST /jobs/users-exports` (JSON or form body).
#[utoipa::path(
    post,
    path = "/jobs/users-exports",
    operation_id = "create_users_export_job",
    tag = "jobs",
    summary = "Export users to a file",
    request_body(content(
        (crate::openapi::UsersExportRequest = "application/json"),
        (crate::openapi::UsersExportRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The job, queued.", body = crate::openapi::Job),
        (status = 400, description = "Invalid body, fields or connection (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(&["read:users"])?;
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let bytes = read_limited(req, s.config.max_body_bytes).await?;
    let body: Value = if is_form {
        let pairs =
            crate::body::parse_urlencoded(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
                ApiError::invalid_body("The form body is not valid percent-encoding.")
            })?;
        let mut o = serde_json::Map::new();
        for (k, v) in pairs {
            let v = if k == "limit" {
                v.parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(v))
            } else {
                Value::String(v)
            };
            o.insert(k, v);
        }
        Value::Object(o)
    } else if bytes.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid_body(format!("Invalid request payload JSON format: {e}"))
        })?
    };
    let obj = object_with(&body, &["connection_id", "format", "limit", "fields"])?;
    let format: String = field(obj, "format")?.unwrap_or_else(|| "json".into());
    let limit: Option<u64> = field(obj, "limit")?;
    let fields: Option<Vec<ExportField>> = field(obj, "fields")?;
    let (connection_id, connection) = match field::<String>(obj, "connection_id")? {
        Some(id) => {
            if !ids::is_connection_id(&id) {
                return Err(ApiError::invalid_body(
                    "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
                ));
            }
            let c = s
                .store
                .get_connection(s.tid(), &id)
                .await?
                .ok_or_else(|| ApiError::invalid_body("The connection does not exist."))?;
            (c.id, c.name)
        }
        None => (String::new(), String::new()),
    };
    let job =
        crate::export_job::queue(&s, connection_id, connection, format, fields, limit).await?;
    // Auth0 answers 200 here (not 202).
    Ok((StatusCode::OK, Json(export_json(&s, &job))).into_response())
}

fn file_name(s: &AppState, job: &Job) -> String {
    let ext = job
        .spec
        .export
        .as_ref()
        .map_or("json", |e| e.format.as_str());
    format!("{}.{ext}.gz", s.tenant.name)
}

/// An export job in Auth0's shape; a completed one carries a fresh signed
/// `location` valid for 60 s.
pub fn export_json(s: &AppState, job: &Job) -> Value {
    let spec = job.spec.export.clone().unwrap_or(ExportSpec {
        format: "json".into(),
        fields: vec![],
        limit: None,
    });
    let mut v = json!({
        "id": job.id,
        "type": "users_export",
        "status": job.status.as_auth0(),
        "created_at": job.created_at,
        "format": spec.format,
        "fields": spec.fields,
    });
    if !job.spec.connection_id.is_empty() {
        v["connection_id"] = json!(job.spec.connection_id);
        v["connection"] = json!(job.spec.connection);
    }
    if let Some(l) = spec.limit {
        v["limit"] = json!(l);
    }
    match job.status {
        JobStatus::Completed => {
            let claims = json!({
                "iss": s.issuer(),
                "aud": format!("{}/jobs-files", s.public_url),
                "sub": format!("{}|{}", s.tid(), job.id),
                "iat": now_epoch(),
                "exp": now_epoch() + LINK_SECS,
            });
            if let Ok(token) = s.keys.sign(&claims) {
                v["location"] = json!(format!(
                    "{}/jobs-files/{}/{}?token={token}",
                    s.public_url,
                    job.id,
                    file_name(s, job)
                ));
            }
        }
        JobStatus::Failed => {
            v["status_details"] = json!(job.status_details);
        }
        _ => {
            let total = job.total_rows.unwrap_or(0);
            v["percentage_done"] =
                json!((job.processed_rows * 100).checked_div(total).unwrap_or(0));
        }
    }
    v
}

/// `GET /jobs-files/{id}/{name}?token=`: the gzip file of a completed export,
/// for whoever holds an unexpired link.
#[utoipa::path(
    get,
    path = "/jobs-files/{id}/{name}",
    operation_id = "download_export_file",
    tag = "jobs",
    summary = "Download an export file (the job's signed `location`)",
    params(
        ("id" = String, Path, description = "The job id."),
        ("name" = String, Path, description = "The file name (`<tenant>.json.gz` or `<tenant>.csv.gz`)."),
        crate::openapi::DownloadParams,
    ),
    responses(
        (status = 200, description = "The gzipped export.", content_type = "application/gzip", body = Vec<u8>),
        (status = 401, description = "Missing, invalid or expired link token, or a token for another file (`invalid_token`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such job, or its file is gone (`inexistent_job`).", body = crate::openapi::ApiErrorBody),
    ),
)]
pub async fn download(
    State(s): State<AppState>,
    Path((id, _name)): Path<(String, String)>,
    q: QueryMap,
) -> Result<Response, ApiError> {
    let token = q
        .str("token")
        .ok_or_else(|| ApiError::unauthorized("The download link has no token."))?;
    let (sub, _) = verify_bearer(&s, token, &format!("{}/jobs-files", s.public_url))
        .await
        .map_err(|e| {
            ApiError::unauthorized(format!("The download link is not valid: {}", e.message))
        })?;
    if sub != format!("{}|{id}", s.tid()) {
        return Err(ApiError::unauthorized(
            "The download link is for another file.",
        ));
    }
    let job = s
        .store
        .get_job(s.tid(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("inexistent_job", "Job not found."))?;
    let mut resp = match s.store.job_chunk(s.tid(), &id, 0).await? {
        Some(first) => chunked_body(&s, &id, first).into_response(),
        // Files of exports made before files were chunked.
        None => {
            let content = s.store.job_file(s.tid(), &id).await?.ok_or_else(|| {
                ApiError::not_found("inexistent_job", "The export file no longer exists.")
            })?;
            base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|_| ApiError::internal())?
                .into_response()
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file_name(&s, &job)))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The file's chunks as a streamed body, read from the store one at a time:
/// a download holds one chunk in memory, whatever the file's size.
fn chunked_body(s: &AppState, id: &str, first: Vec<u8>) -> axum::body::Body {
    let (s, id) = (s.clone(), id.to_string());
    let chunks = futures_util::stream::unfold((Some(first), 1u64), move |(next, seq)| {
        let (s, id) = (s.clone(), id.clone());
        async move {
            let chunk = next?;
            // The chunk after this one is read before this one is sent;
            // a store failure then aborts the response (the client sees
            // an error, not a short file that looks whole).
            match s.store.job_chunk(s.tid(), &id, seq).await {
                Ok(following) => Some((Ok(axum::body::Bytes::from(chunk)), (following, seq + 1))),
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "export download cut short");
                    Some((Err(std::io::Error::other(e.to_string())), (None, seq)))
                }
            }
        }
    });
    axum::body::Body::from_stream(chunks)
}
