"""Users with auth0-python 6.x's Auth0 management client."""

import datetime as dt
import itertools
import secrets

import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.errors import BadRequestError, ConflictError, NotFoundError

PLANS = ["gold", "gold", "silver"]


def _envelope(err: ApiError, status: int, reason: str):
    body = err.body
    assert isinstance(body, dict), f"error body should be a JSON object, got {body!r}"
    assert body.get("statusCode") == status, body
    assert body.get("error") == reason, body
    assert isinstance(body.get("message"), str) and body["message"], body


class Users:
    def __init__(self):
        self.run = secrets.token_hex(5)
        self.prefix = f"sdkpy{self.run}"
        self.emails = [f"{self.prefix}x{i}@example.com" for i in range(3)]
        self.password = f"Pw!{self.run}-Aa1-long-enough"
        self.ids = []
        self.created = []


@pytest.fixture(scope="module")
def users(env, mgmt):
    s = Users()
    yield s
    for uid in s.ids:
        try:
            mgmt.users.delete(uid)
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


@pytest.fixture
def three(users):
    if len(users.ids) != 3:
        pytest.fail("needs the three users from test_create")
    return users


def test_create(env, mgmt, users):
    for i, email in enumerate(users.emails):
        u = mgmt.users.create(
            connection=env.connection,
            email=email,
            password=users.password,
            email_verified=True,
            user_metadata={"a": 1},
            app_metadata={"plan": PLANS[i]},
        )
        assert u.user_id and u.user_id.startswith("auth0|"), u.user_id
        users.ids.append(u.user_id)
        assert u.email == email
        assert u.email_verified is True
        assert u.user_metadata == {"a": 1}
        assert u.app_metadata == {"plan": PLANS[i]}
        assert isinstance(u.created_at, dt.datetime), u.created_at
        assert u.identities and len(u.identities) == 1
        ident = u.identities[0]
        assert ident.connection == env.connection
        assert ident.provider == "auth0"
        assert ident.is_social is False
        assert f"auth0|{ident.user_id}" == u.user_id


def test_duplicate_is_409(env, mgmt, three):
    with pytest.raises(ConflictError) as ei:
        mgmt.users.create(connection=env.connection, email=three.emails[0], password=three.password)
    assert ei.value.status_code == 409
    _envelope(ei.value, 409, "Conflict")


def test_get(mgmt, three):
    u = mgmt.users.get(three.ids[0])
    assert u.user_id == three.ids[0]
    assert u.email == three.emails[0]
    assert u.app_metadata == {"plan": "gold"}
    assert u.user_metadata == {"a": 1}


def test_update_merges_metadata(mgmt, three):
    upd = mgmt.users.update(three.ids[0], user_metadata={"b": 2})
    assert upd.user_metadata == {"a": 1, "b": 2}
    assert upd.app_metadata == {"plan": "gold"}
    assert mgmt.users.get(three.ids[0]).user_metadata == {"a": 1, "b": 2}


def test_list_exact_email_with_totals(mgmt, three):
    # The SDK sends page=0&per_page=50&include_totals=true by default.
    pager = mgmt.users.list(q=f'email:"{three.emails[1]}"', search_engine="v3")
    r = pager.response
    assert (r.start, r.limit, r.length, r.total) == (0, 50, 1, 1), r
    assert [u.user_id for u in pager.items] == [three.ids[1]]


def test_list_pages(mgmt, three):
    q = f"email:{three.prefix}*"
    p0 = mgmt.users.list(q=q, search_engine="v3", page=0, per_page=2, include_totals=True)
    r = p0.response
    assert (r.start, r.limit, r.length, r.total) == (0, 2, 2, 3), r
    p1 = mgmt.users.list(q=q, search_engine="v3", page=1, per_page=2, include_totals=True)
    r1 = p1.response
    assert (r1.start, r1.limit, r1.length, r1.total) == (2, 2, 1, 3), r1
    assert sorted(u.user_id for u in list(p0.items) + list(p1.items)) == sorted(three.ids)
    # The SDK's own iteration walks the pages (bounded in case paging is ignored).
    walked = list(itertools.islice(mgmt.users.list(q=q, search_engine="v3", per_page=2), 10))
    assert sorted(u.user_id for u in walked) == sorted(three.ids)


def test_list_app_metadata_query(mgmt, three):
    gold = mgmt.users.list(q=f'app_metadata.plan:"gold" AND email:{three.prefix}*', search_engine="v3")
    assert gold.response.total == 2
    assert sorted(u.user_id for u in gold.items) == sorted(three.ids[:2])


def test_users_by_email(mgmt, three):
    found = mgmt.users.list_users_by_email(email=three.emails[2])
    assert [u.user_id for u in found] == [three.ids[2]]
    assert mgmt.users.list_users_by_email(email=f"nobody-{three.run}@example.com") == []


def test_delete_then_404(mgmt, three):
    uid = three.ids[2]
    mgmt.users.delete(uid)
    with pytest.raises(NotFoundError) as ei:
        mgmt.users.get(uid)
    assert ei.value.status_code == 404
    _envelope(ei.value, 404, "Not Found")
    assert ei.value.body.get("errorCode") == "inexistent_user", ei.value.body
    assert mgmt.users.list_users_by_email(email=three.emails[2]) == []


def test_create_user_in_unknown_connection_is_400(mgmt, run_id):
    with pytest.raises(BadRequestError) as ei:
        mgmt.users.create(
            connection=f"no-such-connection-{run_id}", email=f"x{run_id}@example.com", password="Pw!-Aa1-long-enough"
        )
    assert ei.value.status_code == 400
    _envelope(ei.value, 400, "Bad Request")
