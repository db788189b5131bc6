//! A device credential is found by its id, on SQLite and PostgreSQL,
//! starting from a database written before migration 0042: grants stored
//! then are found by the id `/device-credentials` showed for them, grants
//! stored now too; the match is exact (not a prefix of the grant id), within
//! the tenant, and only while the grant is unrevoked.
#![allow(clippy::unwrap_used)]

mod common;

use common::Before;
use tern_core::grants::{Grant, GrantDetails, GrantQuery, RefreshToken, device_credential_id};
use tern_core::store::prelude::*;
use tern_store::SqlStore;

const TENANT: &str = "ten_devicecreds";
const OTHER: &str = "ten_devicecreds2";
/// Stored before 0042, with a live token.
const OLD: &str = "gr_AAAAbbbbCCCCdddd12345678";
/// Shares OLD's first fifteen random characters, not the sixteenth.
const NEIGHBOUR: &str = "gr_AAAAbbbbCCCCdddX12345678";
/// The other tenant's grant.
const ELSEWHERE: &str = "gr_EEEEffffGGGGhhhh12345678";

const EARLIER: Before = Before {
    version: 40,
    sql: "INSERT INTO tenants (id, name, created_at) VALUES \
            ('ten_devicecreds', 't', '2020-01-01T00:00:00.000Z'), \
            ('ten_devicecreds2', 'u', '2020-01-01T00:00:00.000Z'); \
          INSERT INTO grants (tenant_id, id, client_id, user_id, created_at, revoked_at, body, audience) VALUES \
            ('ten_devicecreds', 'gr_AAAAbbbbCCCCdddd12345678', 'app', 'auth0|u1', 1, NULL, \
             '{\"scope\":[\"openid\",\"offline_access\"],\"auth_time\":1}', NULL), \
            ('ten_devicecreds', 'gr_AAAAbbbbCCCCdddX12345678', 'app', 'auth0|u1', 1, NULL, \
             '{\"scope\":[\"openid\",\"offline_access\"],\"auth_time\":1}', NULL), \
            ('ten_devicecreds2', 'gr_EEEEffffGGGGhhhh12345678', 'app', 'auth0|u1', 1, NULL, \
             '{\"scope\":[\"openid\",\"offline_access\"],\"auth_time\":1}', NULL); \
          INSERT INTO refresh_tokens (tenant_id, token_hash, grant_id, parent_hash, client_id, \
                                      created_at, expires_at, idle_expires_at, used_at, rotating) VALUES \
            ('ten_devicecreds', 'h1', 'gr_AAAAbbbbCCCCdddd12345678', NULL, 'app', 1, NULL, NULL, NULL, 0), \
            ('ten_devicecreds', 'h2', 'gr_AAAAbbbbCCCCdddX12345678', NULL, 'app', 1, NULL, NULL, NULL, 0), \
            ('ten_devicecreds2', 'h3', 'gr_EEEEffffGGGGhhhh12345678', NULL, 'app', 1, NULL, NULL, NULL, 0);",
};

/// The grants `tenant` shows as device credential `id` (live tokens only).
async fn found(store: &SqlStore, tenant: &str, id: &str) -> Vec<String> {
    let query = GrantQuery {
        device_credential_id: Some(id),
        live_token_at: Some(2),
        limit: 10,
        ..GrantQuery::default()
    };
    store
        .list_grants(tenant, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.grant.id)
        .collect()
}

async fn scenario(store: SqlStore) {
    // Grants written before the migration, by the id the API showed.
    assert_eq!(device_credential_id(OLD), "dcr_AAAAbbbbCCCCdddd");
    assert_eq!(found(&store, TENANT, "dcr_AAAAbbbbCCCCdddd").await, [OLD]);
    assert_eq!(
        found(&store, TENANT, &device_credential_id(NEIGHBOUR)).await,
        [NEIGHBOUR]
    );
    // Exact: a shorter id is no prefix match.
    assert!(
        found(&store, TENANT, "dcr_AAAAbbbbCCCCddd")
            .await
            .is_empty()
    );
    // Within the tenant.
    assert!(
        found(&store, TENANT, &device_credential_id(ELSEWHERE))
            .await
            .is_empty()
    );
    assert_eq!(
        found(&store, OTHER, &device_credential_id(ELSEWHERE)).await,
        [ELSEWHERE]
    );

    // A grant stored now.
    let new = Grant {
        id: "gr_ZZZZyyyyXXXXwwww87654321".into(),
        client_id: "app".into(),
        user_id: "auth0|u1".into(),
        created_at: 1,
        revoked_at: None,
        details: GrantDetails {
            scope: vec!["offline_access".into()],
            audience: None,
            sid: None,
            auth_time: 1,
            amr: vec![],
            revoked_reason: None,
            made_from: Default::default(),
        },
        metadata: Default::default(),
    };
    store.insert_grant(TENANT, &new).await.unwrap();
    store
        .insert_refresh_token(
            TENANT,
            &RefreshToken {
                token_hash: "h4".into(),
                grant_id: new.id.clone(),
                parent_hash: None,
                client_id: "app".into(),
                created_at: 1,
                expires_at: None,
                idle_expires_at: None,
                used_at: None,
                rotating: false,
                last_seen: Default::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found(&store, TENANT, "dcr_ZZZZyyyyXXXXwwww").await,
        [new.id.as_str()]
    );

    // Revoked: no longer a credential.
    assert!(store.revoke_grant(TENANT, OLD, 2, "test").await.unwrap());
    assert!(
        found(&store, TENANT, "dcr_AAAAbbbbCCCCdddd")
            .await
            .is_empty()
    );
    assert_eq!(
        found(&store, TENANT, &device_credential_id(NEIGHBOUR)).await,
        [NEIGHBOUR]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_device_credentials_found_by_id() {
    common::on_sqlite_before("devicecreds", Some(EARLIER), scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_device_credentials_found_by_id() {
    common::on_postgres_before("devicecreds", Some(EARLIER), scenario).await;
}
