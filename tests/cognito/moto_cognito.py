"""A Cognito user pool for crates/tern-server/tests/cognito_connector.rs.

Starts moto (an independent emulator of the AWS APIs) on 127.0.0.1, creates
with boto3 an IAM user allowed to call Cognito, a user pool with a custom
attribute, an app client with a secret and one without, and the users the
test logs in as; prints one JSON line describing them, then serves until its
standard input closes (the test stops it by closing it or killing it).

After the setup, moto checks the SigV4 signature of every request that is
not one of Cognito's public operations (InitiateAuth, GetUser), as AWS does.
"""

import json
import logging
import sys

from moto.server import ThreadedMotoServer
from moto import settings
from moto.cognitoidp import models as cognito_models
from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.utils import check_secret_hash
import boto3

REGION = "eu-west-1"


def require_secret_hash_for_password_auth():
    """Real Cognito refuses USER_PASSWORD_AUTH without the right SECRET_HASH
    when the app client has a secret; moto checks it only for USER_SRP_AUTH.
    Apply moto's own check (cognitoidp.utils.check_secret_hash) to
    USER_PASSWORD_AUTH too, so the test proves our SECRET_HASH is right."""
    original = cognito_models.CognitoIdpBackend.initiate_auth

    def initiate_auth(self, client_id, auth_flow, auth_parameters):
        if auth_flow == "USER_PASSWORD_AUTH":
            for pool in self.user_pools.values():
                client = pool.clients.get(client_id)
                if client is not None and client.generate_secret:
                    username = auth_parameters.get("USERNAME", "")
                    if not check_secret_hash(
                        client.secret,
                        client.id,
                        username,
                        auth_parameters.get("SECRET_HASH"),
                    ):
                        # AWS's own message for this case.
                        raise NotAuthorizedError(
                            "Unable to verify secret hash for client " + client_id
                        )
        return original(self, client_id, auth_flow, auth_parameters)

    cognito_models.CognitoIdpBackend.initiate_auth = initiate_auth


def main():
    # Errors reach the test's output; one line per request would drown them.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    require_secret_hash_for_password_auth()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    setup = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )

    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="tern-migration")
    iam.put_user_policy(
        UserName="tern-migration",
        PolicyName="cognito-read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "cognito-idp:*", "Resource": "*"}
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="tern-migration")["AccessKey"]

    idp = boto3.client("cognito-idp", **setup)
    pool = idp.create_user_pool(
        PoolName="legacy",
        Schema=[
            {"Name": "plan", "AttributeDataType": "String", "Mutable": True},
            {"Name": "migrated", "AttributeDataType": "String", "Mutable": True},
        ],
    )["UserPool"]
    pool_id = pool["Id"]
    public = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="public",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    confidential = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="confidential",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]

    users = {}

    def user(username, password, attributes, permanent=True):
        created = idp.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
            MessageAction="SUPPRESS",
        )["User"]
        if permanent:
            idp.admin_set_user_password(
                UserPoolId=pool_id, Username=username, Password=password, Permanent=True
            )
        sub = next(a["Value"] for a in created["Attributes"] if a["Name"] == "sub")
        users[username] = {"sub": sub, "password": password}

    user(
        "ada@example.com",
        "Correct-Horse-1",
        {
            "email": "ada@example.com",
            "email_verified": "true",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "name": "Ada Lovelace",
            "custom:plan": "gold",
        },
    )
    user(
        "grace@example.com",
        "Hopper-Compiler-2",
        {"email": "grace@example.com", "email_verified": "false"},
    )
    # An invited user who never set a password: Cognito answers NEW_PASSWORD_REQUIRED.
    user(
        "invited@example.com",
        "Temporary-Pass-3",
        {"email": "invited@example.com"},
        permanent=False,
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id,
        Username="invited@example.com",
        Password="Temporary-Pass-3",
        Permanent=False,
    )

    # Signed up but never confirmed: Cognito answers UserNotConfirmedException.
    signed_up = idp.sign_up(
        ClientId=public["ClientId"],
        Username="unconfirmed@example.com",
        Password="Never-Confirmed-5",
        UserAttributes=[{"Name": "email", "Value": "unconfirmed@example.com"}],
    )
    users["unconfirmed@example.com"] = {
        "sub": signed_up["UserSub"],
        "password": "Never-Confirmed-5",
    }

    # From here on, moto checks signatures like AWS (public operations excepted).
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    print(
        json.dumps(
            {
                "endpoint": endpoint,
                "region": REGION,
                "user_pool_id": pool_id,
                "public_client_id": public["ClientId"],
                "confidential_client_id": confidential["ClientId"],
                "confidential_client_secret": confidential["ClientSecret"],
                "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"],
                "users": users,
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
