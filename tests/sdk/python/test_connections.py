"""Connections with auth0-python 6.x's Auth0 management client."""

import itertools
import re

import pytest
from auth0.management.errors import NotFoundError

CON_ID = re.compile(r"^con_[A-Za-z0-9]{16}$")


def test_list_auth0_connections(env, mgmt):
    pager = mgmt.connections.list(strategy="auth0")
    # Follows `next` if the server returns one (bounded in case `from` is ignored).
    conns = list(itertools.islice(pager, 500))
    assert conns, f"no auth0 connections; raw response: {pager.response!r}"
    for c in conns:
        assert c.strategy == "auth0", f"strategy filter leaked {c.name} ({c.strategy})"
    default = [c for c in conns if c.name == env.connection]
    assert len(default) == 1, [c.name for c in conns]
    assert default[0].id == env.connection_id


def test_connection_crud(env, mgmt, run_id, undo):
    name = f"sdk-py-{run_id}"
    created = mgmt.connections.create(name=name, strategy="auth0")
    assert created.id and CON_ID.match(created.id), created.id
    undo.append(lambda: mgmt.connections.delete(created.id))
    assert created.name == name
    assert created.strategy == "auth0"

    got = mgmt.connections.get(created.id)
    assert (got.id, got.name, got.strategy) == (created.id, name, "auth0")

    upd = mgmt.connections.update(created.id, enabled_clients=[env.client_id])
    assert upd.enabled_clients == [env.client_id]
    assert mgmt.connections.get(created.id).enabled_clients == [env.client_id]

    mgmt.connections.delete(created.id)
    with pytest.raises(NotFoundError) as ei:
        mgmt.connections.get(created.id)
    assert ei.value.status_code == 404
