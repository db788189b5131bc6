"""Prints the SigV4 Authorization header botocore computes for the request the
unit test `connectors::cognito::sigv4::tests` signs (fixed clock and keys), so the
test's expected value comes from AWS's own SDK, not from our signer.
Run: tests/cognito/.venv/bin/python tests/cognito/sigv4_fixture.py"""

import datetime
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

body = '{"UserPoolId":"eu-west-1_AbC","Filter":"email = \\"a@b.co\\"","Limit":2}'
request = AWSRequest(
    method="POST",
    url="https://cognito-idp.eu-west-1.amazonaws.com/",
    data=body.encode(),
    headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUsers",
    },
)
credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
fixed = datetime.datetime(2026, 12, 7, 23, 4, 5)
with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
    SigV4Auth(credentials, "cognito-idp", "eu-west-1").add_auth(request)
print(request.headers["X-Amz-Date"])
print(request.headers["Authorization"])
