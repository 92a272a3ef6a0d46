from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.conftest import report_body


def test_a_report_is_answered_with_its_tracking_code(http: TestClient) -> None:
    answer = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    case_id = answer.json()["id"]
    assert answer.headers["Location"] == f"/cases/{case_id}"
    tracked = http.get(f"/track/{answer.json()['tracking_code']}")
    assert tracked.json()["status"] == "reported"
