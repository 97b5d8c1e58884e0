"""Microsoft's Graph SDK for Python (msgraph-sdk) against a running restore-delta-server.

    python3 -m venv .venv && .venv/bin/pip install msgraph-sdk==1.65.0
    restore-delta-server --in-memory --listen 127.0.0.1:8080 --transitions manual &
    .venv/bin/python server/sdk-smoke/graph_sdk_smoke.py http://127.0.0.1:8080

The SDK is used as a client author would use it, only its base URL pointed at the server and
no credentials (anonymous). Exits 0 when every step answers as Graph documents it.
"""

import asyncio
import sys

from kiota_abstractions.authentication.anonymous_authentication_provider import (
    AnonymousAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.destination_type import DestinationType
from msgraph.generated.models.drive_restore_artifact import DriveRestoreArtifact
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.one_drive_for_business_restore_session import (
    OneDriveForBusinessRestoreSession,
)
from msgraph.generated.models.restore_point import RestorePoint
from msgraph.generated.models.restore_session_status import RestoreSessionStatus

TYPE = "#microsoft.graph.oneDriveForBusinessRestoreSession"


async def main(base: str) -> None:
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
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

    listed = await backup.restore_sessions.get()
    print("list:", len(listed.value), "session(s)")
    print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"))
