"""Bulk user import jobs with auth0-python 6.x's Auth0 management client:
jobs.users_imports.create (multipart; the file as a tuple or a file object),
jobs.get polled until the job is done, jobs.errors.get (the failed rows, hashes
redacted; None on 204), a re-import without and with upsert, and
password-realm logins (GetToken.login) with the hashes that came in the file."""

import io
import json
import re
import secrets
import time

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.errors import NotFoundError

from conftest import create_realm_app, decode_jwt

# bcrypt("hello"), cost 10, from Auth0's import-schema docs.
BCRYPT_HELLO = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"
JOB_ID = re.compile(r"^job_[A-Za-z0-9]{16}$")


def hmac_test():
    """HMAC-SHA1 of "test" with key 0x736868, from Auth0's import-schema docs."""
    return {
        "algorithm": "hmac",
        "hash": {
            "value": "cg7f42jH39/2EaAU4wNd4s2lKIk=",
            "encoding": "base64",
            "digest": "sha1",
            "key": {"value": "736868", "encoding": "hex"},
        },
    }


def users_file(rows):
    return ("users.json", json.dumps(rows).encode(), "application/json")


class Jobs:
    def __init__(self):
        self.run = secrets.token_hex(5)
        self.prefix = f"sdkpyjob{self.run}"
        self.emails = [f"{self.prefix}x{i}@example.com" for i in range(5)]
        self.app = None
        self.mixed = None  # id of the job with failed rows
        self.ids = {}  # email -> user_id
        self.undo = []


@pytest.fixture(scope="module")
def jobs(env, mgmt):
    s = Jobs()
    yield s
    for step in reversed(s.undo):
        try:
            step()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


@pytest.fixture
def imported(jobs):
    if len(jobs.ids) < 3:
        pytest.fail("needs the users imported by test_import_with_failed_rows")
    return jobs


def wait_for_job(mgmt, job_id, timeout=30.0):
    """Poll jobs.get until the job is completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        job = mgmt.jobs.get(job_id)
        assert job.id == job_id
        assert job.status in ("pending", "processing", "completed", "failed"), job
        if job.status in ("completed", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} after {timeout} s: {job!r}"
        time.sleep(0.1)


def import_job(env, mgmt, users, **kwargs):
    """Create an import job (202), check the job it returns, wait for it to finish."""
    raw = mgmt.jobs.users_imports.with_raw_response.create(
        users=users, connection_id=env.connection_id, send_completion_email=False, **kwargs
    )
    assert raw.status_code == 202, "POST /jobs/users-imports status"
    job = raw.data
    assert JOB_ID.match(job.id), job
    assert job.type == "users_import"
    assert job.status in ("pending", "processing", "completed"), job
    assert job.connection_id == env.connection_id
    assert getattr(job, "connection", None) == env.connection, job
    assert job.created_at, job
    if "external_id" in kwargs:
        assert job.external_id == kwargs["external_id"], "external_id echoed"
    return wait_for_job(mgmt, job.id)


def user_by_email(mgmt, jobs, email):
    """The one user with this email; registers its deletion."""
    found = mgmt.users.list_users_by_email(email=email)
    assert len(found) == 1, f"users with email {email}: {found!r}"
    u = found[0]
    if email not in jobs.ids:
        jobs.ids[email] = u.user_id
        jobs.undo.append(lambda: mgmt.users.delete(u.user_id))
    return u


def test_create_app(env, mgmt, jobs):
    jobs.app = create_realm_app(env, mgmt, f"sdk-py-jobs-{jobs.run}", jobs.undo)


def test_import_with_failed_rows(env, mgmt, jobs):
    e = jobs.emails
    rows = [
        {
            "email": e[0],
            "email_verified": True,
            "given_name": "Bcrypt",
            "password_hash": BCRYPT_HELLO,
            "user_metadata": {"source": "file", "n": 0},
            "app_metadata": {"plan": "gold"},
        },
        {"given_name": "No Email", "custom_password_hash": hmac_test()},
        {"email": e[1], "email_verified": True, "custom_password_hash": hmac_test()},
        {"email": f"{jobs.prefix}-not-an-email", "password_hash": BCRYPT_HELLO},
        {"email": e[2], "user_id": f"{jobs.prefix}u2", "name": "No Password"},
    ]
    done = import_job(env, mgmt, users_file(rows), upsert=False, external_id=f"ext-{jobs.run}")
    jobs.mixed = done.id
    # The users exist whatever the summary says: register them for deletion first.
    u = [user_by_email(mgmt, jobs, e[i]) for i in range(3)]

    assert done.status == "completed", done
    s = done.summary
    assert s is not None, done
    assert (s.inserted, s.failed, s.updated, s.total) == (3, 2, 0, 5), s
    assert done.type == "users_import"
    assert done.connection_id == env.connection_id
    assert getattr(done, "external_id", None) == f"ext-{jobs.run}", "external_id in the job status"

    assert u[0].user_id.startswith("auth0|"), u[0].user_id
    assert u[0].email_verified is True
    assert u[0].given_name == "Bcrypt"
    assert u[0].user_metadata == {"source": "file", "n": 0}
    assert u[0].app_metadata == {"plan": "gold"}
    assert u[0].identities[0].connection == env.connection
    assert u[0].identities[0].provider == "auth0"
    assert u[1].email_verified is True
    assert u[2].user_id == f"auth0|{jobs.prefix}u2", "user_id from the file, prefixed with auth0|"
    assert u[2].email_verified is False, "email_verified defaults to false"
    assert u[2].name == "No Password"


def test_errors_of_the_failed_rows(mgmt, imported):
    jobs = imported
    raw = mgmt.jobs.errors.with_raw_response.get(jobs.mixed)
    assert raw.status_code == 200, "GET /jobs/{id}/errors status"
    errs = raw.data
    assert isinstance(errs, list) and len(errs) == 2, errs
    for rec in errs:
        assert rec.errors, rec
        for x in rec.errors:
            assert isinstance(x.code, str) and x.code, x
            assert isinstance(x.message, str) and x.message, x
            assert isinstance(x.path, str), x
    missing, bad = sorted(errs, key=lambda r: getattr(r, "index", -1))

    assert getattr(missing, "index", None) == 1, f"row index of the row without email: {missing!r}"
    assert any(x.code == "OBJECT_REQUIRED" and x.path == "email" for x in missing.errors), missing.errors
    assert missing.user["given_name"] == "No Email", "the row is echoed"
    cph = missing.user["custom_password_hash"]
    assert cph["algorithm"] == "hmac"
    assert cph["hash"]["value"] == "*****", "hash value redacted"
    assert cph["hash"]["key"]["value"] == "*****", "HMAC key redacted"

    assert getattr(bad, "index", None) == 3, f"row index of the row with a bad email: {bad!r}"
    assert any(x.code == "INVALID_FORMAT" and x.path == "email" for x in bad.errors), bad.errors
    assert bad.user["email"] == f"{jobs.prefix}-not-an-email", "the row is echoed"
    assert bad.user["password_hash"] == "*****", "password_hash redacted"


def test_reimport_without_upsert_fails_the_row(env, mgmt, imported):
    jobs = imported
    done = import_job(env, mgmt, users_file([{"email": jobs.emails[0], "given_name": "Not Applied"}]), upsert=False)
    assert done.status == "completed", done
    s = done.summary
    assert (s.inserted, s.failed, s.updated, s.total) == (0, 1, 0, 1), s
    errs = mgmt.jobs.errors.get(done.id)
    assert isinstance(errs, list) and len(errs) == 1, errs
    assert getattr(errs[0], "index", None) == 0
    assert any(x.code == "DUPLICATED_USER" for x in errs[0].errors), errs[0].errors
    assert mgmt.users.get(jobs.ids[jobs.emails[0]]).given_name == "Bcrypt", "user unchanged"


def test_upsert(env, mgmt, imported):
    jobs = imported
    e = jobs.emails
    rows = [
        {"email": e[0], "given_name": "Upserted", "user_metadata": {"replaced": True}},
        {"email": e[3], "email_verified": True, "password_hash": BCRYPT_HELLO},
    ]
    # A bare file object this time (no filename, no content type).
    done = import_job(env, mgmt, io.BytesIO(json.dumps(rows).encode()), upsert=True, external_id=f"ext-upsert-{jobs.run}")
    user_by_email(mgmt, jobs, e[3])
    assert done.status == "completed", done
    s = done.summary
    assert (s.inserted, s.failed, s.updated, s.total) == (1, 0, 1, 2), s

    u = mgmt.users.get(jobs.ids[e[0]])
    assert u.given_name == "Upserted"
    assert u.user_metadata == {"replaced": True}, "user_metadata replaced, not merged"
    assert u.app_metadata == {"plan": "gold"}, "app_metadata absent from the row: unchanged"
    assert u.email_verified is True, "email_verified absent from the row: unchanged"

    raw = mgmt.jobs.errors.with_raw_response.get(done.id)
    assert raw.status_code == 204, "GET /jobs/{id}/errors status for a job without errors"
    assert raw.data is None, "the SDK returns None for a 204"


def test_job_without_errors(env, mgmt, jobs):
    done = import_job(env, mgmt, users_file([{"email": jobs.emails[4]}]))
    user_by_email(mgmt, jobs, jobs.emails[4])
    assert done.status == "completed", done
    s = done.summary
    assert (s.inserted, s.failed, s.updated, s.total) == (1, 0, 0, 1), s
    assert mgmt.jobs.errors.get(done.id) is None, "204 from errors.get"


def test_imported_hashes_log_in(env, imported):
    jobs = imported
    e = jobs.emails
    assert jobs.app is not None and e[3] in jobs.ids, "needs the client and the upserted user"
    tok = GetToken(env.domain, jobs.app.client_id, client_secret=jobs.app.client_secret, protocol="http")

    # bcrypt password_hash (kept by the upsert, which must not touch it).
    res = tok.login(username=e[0], password="hello", realm=env.connection, scope="openid email")
    assert isinstance(res.get("access_token"), str) and res["access_token"]
    _, claims = decode_jwt(res["id_token"])
    assert claims["sub"] == jobs.ids[e[0]]
    assert claims["email"] == e[0]

    # HMAC custom_password_hash.
    res = tok.login(username=e[1], password="test", realm=env.connection)
    assert isinstance(res.get("access_token"), str) and res["access_token"]

    # bcrypt password_hash of a user inserted by the upsert job.
    res = tok.login(username=e[3], password="hello", realm=env.connection)
    assert isinstance(res.get("access_token"), str) and res["access_token"]

    with pytest.raises(Auth0Error) as ei:
        tok.login(username=e[0], password="hello!", realm=env.connection)
    assert ei.value.status_code == 403
    assert ei.value.error_code == "invalid_grant"


def test_unknown_job_is_404(mgmt, run_id):
    job_id = f"job_000000{run_id}"
    assert JOB_ID.match(job_id)
    with pytest.raises(NotFoundError) as ei:
        mgmt.jobs.get(job_id)
    assert ei.value.status_code == 404
    assert ei.value.body.get("statusCode") == 404, ei.value.body
    with pytest.raises(NotFoundError) as ei:
        mgmt.jobs.errors.get(job_id)
    assert ei.value.status_code == 404
