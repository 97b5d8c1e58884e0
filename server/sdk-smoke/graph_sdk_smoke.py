"""Microsoft's Graph SDK for Python (msgraph-sdk) against a running restore-delta-server.

    python3 -m venv .venv && .venv/bin/pip install msgraph-sdk==1.65.0 Deprecated
    echo s3cret > /tmp/token
    cargo run -q -p restore-delta-server -- --in-memory --tls --tls-dir /tmp/rd-tls \\
        --token-file /tmp/token --transitions manual &
    SSL_CERT_FILE=/tmp/rd-tls/ca.pem .venv/bin/python server/sdk-smoke/graph_sdk_smoke.py \\
        https://127.0.0.1:8443 s3cret

The SDK is used as a client author would use it: its base URL pointed at the server, a bearer
token from a static token provider limited to the server's host, TLS trusting the server's CA
through `SSL_CERT_FILE` (httpx reads it). Without a token argument it runs anonymously (for a
server started without one, over http:// too). `Deprecated` is a dependency msgraph-core 1.5.2
forgets to declare (its batch module imports it). Exits 0 when every step answers as Graph
documents it.
"""

import asyncio
import sys
from urllib.parse import urlparse

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.authentication.anonymous_authentication_provider import (
    AnonymousAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.destination_type import DestinationType
from msgraph.generated.models.drive_restore_artifact import DriveRestoreArtifact
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.one_drive_for_business_restore_session import (
    OneDriveForBusinessRestoreSession,
)
from msgraph.generated.models.restore_point import RestorePoint
from msgraph.generated.models.restore_session_status import RestoreSessionStatus
from msgraph.generated.solutions.backup_restore.restore_sessions.restore_sessions_request_builder import (
    RestoreSessionsRequestBuilder,
)
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.tasks.page_iterator import PageIterator

TYPE = "#microsoft.graph.oneDriveForBusinessRestoreSession"


class StaticToken(AccessTokenProvider):
    """A bearer token for the server's host only."""

    def __init__(self, token: str, host: str) -> None:
        self.token = token
        self.hosts = AllowedHostsValidator([host])

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token if self.hosts.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self):
        return self.hosts


async def main(base: str, token: str | None) -> None:
    if token:
        auth = BaseBearerTokenAuthenticationProvider(StaticToken(token, urlparse(base).hostname))
    else:
        auth = AnonymousAuthenticationProvider()
    adapter = GraphRequestAdapter(auth)
    # Without a trailing slash: the SDK's templates add their own (`{+baseurl}/solutions/…`).
    adapter.base_url = f"{base}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)
    backup = client.solutions.backup_restore
    drive_sessions = backup.one_drive_for_business_restore_sessions

    # Create, with a deep insert of one artifact.
    created = await drive_sessions.post(
        OneDriveForBusinessRestoreSession(
            odata_type=TYPE,
            drive_restore_artifacts=[
                DriveRestoreArtifact(
                    destination_type=DestinationType.New,
                    restore_point=RestorePoint(id="rp-1"),
                )
            ],
        )
    )
    assert created.id and created.status == RestoreSessionStatus.Draft, created
    assert created.created_by is not None, created
    print("create:", created.id, created.status)

    # PATCH with the delta payload, set through additional_data as the SDK docs show.
    patched = await drive_sessions.by_one_drive_for_business_restore_session_id(created.id).patch(
        OneDriveForBusinessRestoreSession(
            odata_type=TYPE,
            additional_data={
                "driveRestoreArtifacts@delta": [
                    {"restorePoint": {"id": "rp-2"}, "destinationType": "new"},
                    {"@removed": {"reason": "changed"}, "id": "not-there"},
                ]
            },
        )
    )
    total = patched.restore_session_artifact_count.total
    assert total == 2, patched
    print("patch: total", total)

    # Get under restoreSessions, list the artifacts under the kind's set.
    got = await backup.restore_sessions.by_restore_session_base_id(created.id).get()
    assert got.id == created.id, got
    artifacts = await drive_sessions.by_one_drive_for_business_restore_session_id(
        created.id
    ).drive_restore_artifacts.get()
    points = sorted(a.restore_point.id for a in artifacts.value)
    assert points == ["rp-1", "rp-2"], points
    print("get + list artifacts:", points)

    # More sessions; query options (the SDK percent-encodes `$` in names and `/` in values);
    # every page through msgraph-core's PageIterator.
    # (On a server that holds drafts already, every one of them is paged through too.)
    mine = {created.id}
    for _ in range(4):
        more = await drive_sessions.post(OneDriveForBusinessRestoreSession(odata_type=TYPE))
        mine.add(more.id)
    query = RestoreSessionsRequestBuilder.RestoreSessionsRequestBuilderGetQueryParameters(
        filter="status eq 'draft'",
        select=["id", "status"],
        orderby=["createdDateTime desc"],
        top=2,
        count=True,
        expand=["microsoft.graph.oneDriveForBusinessRestoreSession/driveRestoreArtifacts"],
    )
    page = await backup.restore_sessions.get(RequestConfiguration(query_parameters=query))
    assert page.odata_count >= 5, page.odata_count
    assert page.odata_next_link and page.odata_next_link.startswith(base), page.odata_next_link
    seen = []

    def collect(session):
        seen.append(session.id)
        return True

    await PageIterator(page, adapter).iterate(collect)
    assert len(seen) == page.odata_count and len(set(seen)) == len(seen), seen
    assert mine <= set(seen), (mine, seen)
    print("query options + PageIterator:", len(seen), "drafts, @odata.count", page.odata_count)

    # Activate as the SDK addresses it.
    activated = await backup.restore_sessions.by_restore_session_base_id(created.id).activate.post()
    assert activated.status == RestoreSessionStatus.Activating, activated
    print("activate:", activated.status)

    # A Graph error parses as ODataError with its code.
    try:
        await backup.restore_sessions.by_restore_session_base_id(created.id).delete()
        raise AssertionError("deleting an activated session must fail")
    except ODataError as e:
        assert e.response_status_code == 403, e
        assert e.error.code == "RestoreSessionActionNotAllowed", e.error.code
        print("delete after activation:", e.response_status_code, e.error.code)

    # Delete a draft; then it is gone (404 RestoreSessionNotFound).
    second = await drive_sessions.post(OneDriveForBusinessRestoreSession(odata_type=TYPE))
    await backup.restore_sessions.by_restore_session_base_id(second.id).delete()
    try:
        await backup.restore_sessions.by_restore_session_base_id(second.id).get()
        raise AssertionError("a deleted session must be gone")
    except ODataError as e:
        assert e.response_status_code == 404 and e.error.code == "RestoreSessionNotFound", e
        print("get after delete:", e.response_status_code, e.error.code)

    # JSON batching with msgraph-core's helpers (ids given through BatchRequestItem: the
    # helper's add_request_information ignores the id it is given).
    third = await drive_sessions.post(OneDriveForBusinessRestoreSession(odata_type=TYPE))
    batch = BatchRequestContent()
    listing = backup.restore_sessions.to_get_request_information()
    batch.add_request("1", BatchRequestItem(listing, id="1"))
    activation = backup.restore_sessions.by_restore_session_base_id(
        third.id
    ).activate.to_post_request_information()
    batch.add_request("2", BatchRequestItem(activation, id="2", depends_on=["1"]))
    answer = await client.batch.post(batch)
    statuses = answer.get_response_status_codes()
    assert statuses == {"1": 200, "2": 200}, statuses
    state = await backup.restore_sessions.by_restore_session_base_id(third.id).get()
    assert state.status == RestoreSessionStatus.Activating, state.status
    print("batch:", statuses)
    print("OK")


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "https://127.0.0.1:8443"
    asyncio.run(main(url.rstrip("/"), sys.argv[2] if len(sys.argv) > 2 else None))
