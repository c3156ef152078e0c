"""The flow runs' follower: one thread, one Prefect client, one ``read_flow_runs`` for all
unfinished runs per tick; pages read its cache and the accounts, never Prefect."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

from prefect.states import Completed, Failed, Running

from interfaces.web.checks import FINDINGS_NAME, upload_dir
from interfaces.web.jobs import Follower
from tests.web.conftest import Web


class FakeClient:
    """Answers ``read_flow_runs`` from a dict id → state, counting the requests."""

    def __init__(self) -> None:
        self.states: dict[str, object] = {}
        self.requests: list[list[str]] = []

    def read_flow_runs(self, flow_run_filter, limit):
        ids = [str(i) for i in flow_run_filter.id.any_]
        self.requests.append(ids)
        return [SimpleNamespace(id=uuid.UUID(i), state=self.states[i]) for i in ids]


def _prechecks(web: Web, n: int):
    svc = web.app.state.services
    org = svc.accounts.org_by_name("甲秘测绘有限公司")
    person = svc.accounts.person_by_username("firm_a")
    made = []
    for i in range(n):
        upload = svc.accounts.add_upload(f"u{i:031d}", org.id, person.id, "a.zip", 1, "0" * 64)
        run = svc.accounts.add_run(org.id, person.id, "precheck", upload.id)
        flow_run_id = str(uuid.uuid4())
        svc.accounts.set_run(run.id, "checking", flow_run_id=flow_run_id)
        svc.accounts.set_upload_state(upload.id, "checking")
        folder = upload_dir(svc.settings.web_dir, org.id, upload.id)
        folder.mkdir(parents=True)
        doc = {"verdict": "accepted", "counts": {"error": 0}, "project_id": f"P{i}"}
        (folder / FINDINGS_NAME).write_text(json.dumps(doc), encoding="utf-8")
        made.append((upload, run, flow_run_id))
    return svc, made


def test_one_request_follows_every_run_and_records_final_states(web: Web):
    svc, made = _prechecks(web, 3)
    follower = Follower(svc.jobs)
    svc.jobs.follower = follower  # as with Prefect (the thread is not started: polled here)
    client = FakeClient()
    for _, _, fid in made:
        follower.follow(fid)
        client.states[fid] = Running()
    assert follower.poll(client) is True
    assert len(client.requests) == 1 and sorted(client.requests[0]) == sorted(f for *_, f in made)
    # a page reads the cache: the state's name, no request to Prefect
    upload, run, fid = made[0]
    shown = svc.jobs.refresh(svc.accounts.run(run.id, run.org_id))
    assert shown.detail == "Running" and len(client.requests) == 1
    client.states[made[0][2]] = Completed()
    client.states[made[1][2]] = Failed(message="boom")
    assert follower.poll(client) is True  # the third still runs
    assert len(client.requests) == 2
    done = svc.accounts.upload(made[0][0].id, made[0][0].org_id)
    assert done.state == "done" and done.verdict == "accepted" and done.project_id == "P0"
    failed = svc.accounts.upload(made[1][0].id, made[1][0].org_id)
    assert failed.state == "failed" and "Failed" in failed.error
    assert [r.state for r in svc.accounts.runs_of_flow_run(made[1][2])] == ["failed"]
    client.states[made[2][2]] = Completed()
    assert follower.poll(client) is False  # nothing left: the thread waits without asking
    assert client.requests[-1] == [made[2][2]]
    assert svc.accounts.upload(made[2][0].id, made[2][0].org_id).state == "done"


def test_many_runs_are_read_in_batches(web: Web):
    svc, made = _prechecks(web, 5)
    follower = Follower(svc.jobs, batch=2)
    client = FakeClient()
    for _, _, fid in made:
        follower.follow(fid)
        client.states[fid] = Running()
    follower.poll(client)
    assert [len(r) for r in client.requests] == [2, 2, 1]
