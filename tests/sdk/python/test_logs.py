"""The tenant log with auth0-python 6.x: `logs.list` (`search`, `sort`,
`fields`, `include_totals`, its page pager) and `users.logs.list`, and
checkpoint reading (`from`/`take`, the `Link` header) through the SDK's
HTTP client. The events are real: GetToken.login (password-realm), a
success and wrong passwords. The SDK's pydantic models parse each page."""

from urllib.parse import parse_qs, urlparse
import re
import time

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.core.parse_error import ParsingError
from auth0.management.errors import BadRequestError

from conftest import create_realm_app


@pytest.fixture
def world(env, mgmt, run_id, undo):
    """A checkpoint (the newest event before), then two users' logins: ada
    right, ada wrong, bob wrong, ada wrong."""
    checkpoint = mgmt.logs.list(per_page=1).items[0].log_id
    app = create_realm_app(env, mgmt, f"sdk-py-logs-{run_id}", undo)
    password = f"Pw!{run_id}-Aa1-long-enough"
    users = {}
    for name in ("ada", "bob"):
        u = mgmt.users.create(
            connection=env.connection, email=f"sdkpylogs{name}{run_id}@example.com", password=password,
            email_verified=True,
        )
        undo.append(lambda u=u: mgmt.users.delete(u.user_id))
        users[name] = u
    tok = GetToken(env.domain, app.client_id, client_secret=app.client_secret, protocol="http")
    ada, bob = users["ada"], users["bob"]
    assert tok.login(username=ada.email, password=password, realm=env.connection)["access_token"]
    for user, wrong in ((ada, "-wrong"), (bob, "-wrong"), (ada, "-wrong-again")):
        with pytest.raises(Auth0Error) as ei:
            tok.login(username=user.email, password=password + wrong, realm=env.connection)
        assert ei.value.status_code == 403, ei.value
    return checkpoint, ada, bob


def read_on(mgmt, checkpoint: str, take: int) -> list[dict]:
    """Every event after `checkpoint`, following `from` = the last log_id
    until an empty page; each page's `Link` next must say the same. The
    pager cannot hold a checkpoint answer (Auth0's bare array: the SDK's
    model is the paged object only, see the test below), so this goes
    through the SDK's own authenticated HTTP client."""
    http = mgmt._client_wrapper.httpx_client
    read, frm = [], checkpoint
    for _ in range(200):
        res = http.request("logs", method="GET", params={"from": frm, "take": take})
        assert res.status_code == 200, res.text
        page = res.json()
        assert isinstance(page, list) and len(page) <= take, page
        last = page[-1]["log_id"] if page else frm
        m = re.fullmatch(r'<([^>]+)>; rel="next"', res.headers.get("link", ""))
        assert m, res.headers
        nxt = parse_qs(urlparse(m.group(1)).query)
        assert nxt == {"from": [last], "take": [str(take)]}, m.group(1)
        if not page:
            return read
        read.extend(page)
        frm = last
    pytest.fail("the checkpoint reader did not end")


def test_checkpoint_reads_every_event_once_in_order(mgmt, world):
    checkpoint, ada, bob = world

    def of_logins(read):
        return [e for e in read if e.get("user_id") in (ada.user_id, bob.user_id)]

    # On PostgreSQL a checkpoint read holds back the events of transactions
    # younger than one still open anywhere in the cluster (a login's record
    # finishing, another database's work): an empty page means "nothing
    # yet", and an exporter asks again.
    for _ in range(1200):
        read = read_on(mgmt, checkpoint, 2)
        if len(of_logins(read)) >= 4:
            break
        time.sleep(0.1)
    ids = [e["log_id"] for e in read]
    assert len(set(ids)) == len(ids) and checkpoint not in ids, ids
    logins = [f"{e['type']} {e['user_id']}" for e in of_logins(read)]
    assert logins == [f"s {ada.user_id}", f"fp {ada.user_id}", f"fp {bob.user_id}", f"fp {ada.user_id}"]
    assert [e["log_id"] for e in read_on(mgmt, checkpoint, 100)][: len(ids)] == ids

    # Write order is date order: ada's events oldest first through the pager.
    adas = [e.log_id for e in mgmt.logs.list(search=f'user_id:"{ada.user_id}"', sort="date:1", per_page=1)]
    assert adas == [e["log_id"] for e in read if e.get("user_id") == ada.user_id]

    # The pager's model is the paged object: the SDK fails to parse Auth0's
    # checkpoint array, which it still carries (with the Link header).
    with pytest.raises(ParsingError) as ei:
        mgmt.logs.list(request_options={"additional_query_parameters": {"from": checkpoint, "take": 3}})
    assert [e["log_id"] for e in ei.value.body] == ids[:3]
    assert ei.value.headers["link"].endswith(f'from={ids[2]}&take=3>; rel="next"')


def test_search_sort_fields_and_totals(mgmt, world):
    _, ada, bob = world
    q = f'user_id:"{ada.user_id}" AND type:fp'
    first = mgmt.logs.list(search=q, sort="date:1", fields="type,user_id,date", include_fields=True, per_page=1)
    assert len(first.items) == 1
    assert (first.response.total, first.response.start, first.response.limit) == (2, 0, 1), first.response
    fps = list(first)
    assert len(fps) == 2
    for e in fps:
        assert e.type == "fp" and e.user_id == ada.user_id and isinstance(e.date, str)
        shown = e.dict(exclude_unset=True) if hasattr(e, "dict") else e.model_dump(exclude_unset=True)
        assert sorted(shown) == ["date", "log_id", "type", "user_id"], shown
    assert fps[0].log_id < fps[1].log_id, "date:1: oldest first"
    newest = mgmt.logs.list(search=f'type:fp AND user_id:"{ada.user_id}"', sort="date:-1")
    assert [e.log_id for e in newest.items] == [e.log_id for e in reversed(fps)]

    bobs = mgmt.logs.list(search=f"user_id:{bob.user_id}", fields="details,user_agent", include_fields=False)
    assert [(e.type, e.details) for e in bobs.items] == [("fp", None)]

    # include_totals=false: Auth0's bare array (which this pager cannot hold).
    with pytest.raises(ParsingError) as ei:
        mgmt.logs.list(search=f'type:s AND user_id:"{ada.user_id}"', include_totals=False)
    assert [e["type"] for e in ei.value.body] == ["s"]


def test_a_users_events(mgmt, world):
    _, ada, bob = world
    first = mgmt.users.logs.list(ada.user_id, sort="date:1", per_page=2)
    assert len(first.items) == 2 and first.response.total == 3, first.response
    assert [f"{e.type} {e.user_id}" for e in first] == [f"s {ada.user_id}", f"fp {ada.user_id}", f"fp {ada.user_id}"]
    assert [e.type for e in mgmt.users.logs.list(ada.user_id)] == ["fp", "fp", "s"], "newest first"
    assert [f"{e.type} {e.user_id}" for e in mgmt.users.logs.list(bob.user_id)] == [f"fp {bob.user_id}"]
    # An id with no events (a user never seen, or one whose events were purged) has none.
    assert list(mgmt.users.logs.list("auth0|nobody")) == []


def test_an_unsupported_search_is_tern_s_400(mgmt):
    with pytest.raises(BadRequestError) as ei:
        mgmt.logs.list(search='hostname:"example.com"')
    body = ei.value.body
    assert body["statusCode"] == 400 and body["error"] == "Bad Request", body
    assert body["errorCode"] == "invalid_query_string", body
    assert "do not record hostname" in body["message"], body
    with pytest.raises(BadRequestError) as ei:
        mgmt.users.logs.list("auth0|whoever", sort="user_name:1")
    assert "sorting logs by user_name is not supported" in ei.value.body["message"]
