"""A repeated Idempotency-Key never applies an effect twice, and is counted."""

import threading

import httpx

from interpreter.dev.demo import DemoService


def _post(client: httpx.Client, key: str, path: str = "/reservations") -> httpx.Response:
    return client.post(path, json={"trip": "t1"}, headers={"Idempotency-Key": key})


def test_a_repeated_key_returns_the_first_response(client: httpx.Client) -> None:
    first, again = _post(client, "k1"), _post(client, "k1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())


def test_a_repeated_key_creates_nothing_and_is_counted(
    client: httpx.Client, service: DemoService
) -> None:
    _post(client, "k1")
    _post(client, "k1")
    assert list(service.resources["reservations"]) == ["reservations-1"]
    assert service.duplicates == 1
    assert [record.replayed for record in service.requests] == [False, True]


def test_different_keys_create_different_resources(
    client: httpx.Client, service: DemoService
) -> None:
    _post(client, "k1")
    _post(client, "k2")
    assert len(service.resources["reservations"]) == 2
    assert service.duplicates == 0


def test_a_key_is_scoped_to_its_method_and_path(client: httpx.Client) -> None:
    created = _post(client, "same", "/reservations").json()["id"]
    deleted = client.delete(f"/reservations/{created}", headers={"Idempotency-Key": "same"})
    assert deleted.status_code == 204


def test_a_repeated_delete_replays_its_success(client: httpx.Client) -> None:
    rid = client.post("/reservations", json={}).json()["id"]
    headers = {"Idempotency-Key": "undo"}
    assert client.delete(f"/reservations/{rid}", headers=headers).status_code == 204
    assert client.delete(f"/reservations/{rid}", headers=headers).status_code == 204


def test_a_failed_attempt_is_not_remembered(client: httpx.Client, service: DemoService) -> None:
    service.fail(method="POST", status=503)
    assert _post(client, "k1").status_code == 503
    assert _post(client, "k1").status_code == 201
    assert service.duplicates == 0


def test_a_reply_lost_after_the_effect_is_replayed_on_retry(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(method="POST", status=502, after_effect=True)
    assert _post(client, "k1").status_code == 502
    retry = _post(client, "k1")
    assert (retry.status_code, retry.json()["id"]) == (201, "reservations-1")
    assert len(service.resources["reservations"]) == 1


def test_concurrent_duplicates_apply_the_effect_once(service: DemoService) -> None:
    service.delay(0.1, method="POST")
    statuses: list[int] = []

    def send() -> None:
        with httpx.Client(base_url=service.url) as http:
            statuses.append(_post(http, "race").status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    assert len(service.resources["reservations"]) == 1
    assert service.duplicates == 7


def test_a_get_with_a_key_is_not_a_duplicate(client: httpx.Client, service: DemoService) -> None:
    client.get("/reservations", headers={"Idempotency-Key": "k"})
    client.get("/reservations", headers={"Idempotency-Key": "k"})
    assert service.duplicates == 0


def test_a_replayed_reply_does_not_follow_later_changes(client: httpx.Client) -> None:
    rid = _post(client, "k1").json()["id"]
    client.patch(f"/reservations/{rid}", json={"trip": "changed"})
    assert _post(client, "k1").json()["trip"] == "t1"
