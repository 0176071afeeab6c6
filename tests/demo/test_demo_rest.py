"""The generic REST semantics every demo service has."""

import httpx

from interpreter.dev.demo import DemoService


def test_post_creates_a_resource_with_a_numbered_id(client: httpx.Client) -> None:
    response = client.post("/reservations", json={"trip": "t1"})
    assert response.status_code == 201
    assert response.json() == {"id": "reservations-1", "trip": "t1"}


def test_post_numbers_ids_per_collection(client: httpx.Client) -> None:
    ids = [client.post(path, json={}).json()["id"] for path in ("/a", "/a", "/b")]
    assert ids == ["a-1", "a-2", "b-1"]


def test_post_keeps_the_id_it_chose(client: httpx.Client, service: DemoService) -> None:
    response = client.post("/charges", json={"id": "mine", "amount": 5})
    assert response.json() == {"id": "charges-1", "amount": 5}
    assert service.resources == {"charges": {"charges-1": {"id": "charges-1", "amount": 5}}}


def test_post_without_a_body_creates_an_empty_resource(client: httpx.Client) -> None:
    assert client.post("/pings").json() == {"id": "pings-1"}


def test_post_rejects_a_body_that_is_not_an_object(client: httpx.Client) -> None:
    response = client.post("/reservations", json=[1, 2])
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_put_creates_then_replaces(client: httpx.Client, service: DemoService) -> None:
    first = client.put("/debits/tx-1", json={"amount": 10})
    second = client.put("/debits/tx-1", json={"amount": 12})
    assert (first.status_code, first.json()) == (201, {"id": "tx-1", "amount": 10})
    assert (second.status_code, second.json()) == (200, {"id": "tx-1", "amount": 12})
    assert service.resources["debits"] == {"tx-1": {"id": "tx-1", "amount": 12}}


def test_patch_merges_into_an_existing_resource(client: httpx.Client) -> None:
    client.put("/orders/o1", json={"state": "new", "total": 3})
    response = client.patch("/orders/o1", json={"state": "paid"})
    assert (response.status_code, response.json()) == (
        200,
        {"id": "o1", "state": "paid", "total": 3},
    )


def test_patch_of_an_absent_resource_is_404(client: httpx.Client) -> None:
    assert client.patch("/orders/none", json={}).status_code == 404


def test_delete_removes_then_answers_404(client: httpx.Client, service: DemoService) -> None:
    rid = client.post("/reservations", json={}).json()["id"]
    assert client.delete(f"/reservations/{rid}").status_code == 204
    assert client.delete(f"/reservations/{rid}").status_code == 404
    assert service.resources == {"reservations": {}}


def test_delete_response_has_no_body(client: httpx.Client) -> None:
    rid = client.post("/reservations", json={}).json()["id"]
    assert client.delete(f"/reservations/{rid}").content == b""


def test_verb_sets_the_status_of_a_resource(client: httpx.Client, service: DemoService) -> None:
    rid = client.post("/charges", json={"amount": 5}).json()["id"]
    response = client.post(f"/charges/{rid}/refund", json={"reason": "cancelled"})
    assert (response.status_code, response.json()) == (200, {"id": rid, "status": "refund"})
    assert service.resources["charges"][rid]["status"] == "refund"


def test_verb_on_an_absent_resource_is_404(client: httpx.Client) -> None:
    assert client.post("/charges/charges-9/refund").status_code == 404


def test_get_returns_a_resource_or_404(client: httpx.Client) -> None:
    rid = client.post("/cars", json={"model": "van"}).json()["id"]
    assert client.get(f"/cars/{rid}").json() == {"id": rid, "model": "van"}
    assert client.get("/cars/cars-99").status_code == 404


def test_get_of_a_collection_lists_it(client: httpx.Client) -> None:
    client.post("/cars", json={"n": 1})
    client.post("/cars", json={"n": 2})
    assert [item["n"] for item in client.get("/cars").json()] == [1, 2]


def test_an_unknown_route_is_404_with_a_json_error(client: httpx.Client) -> None:
    response = client.post("/a/b/c/d", json={})
    assert response.status_code == 404
    assert response.json() == {"error": "no route for POST /a/b/c/d"}


def test_state_holds_every_resource_by_collection(client: httpx.Client) -> None:
    client.post("/flights", json={"f": 1})
    client.put("/seats/12a", json={})
    assert client.get("/_state").json() == {
        "flights": {"flights-1": {"id": "flights-1", "f": 1}},
        "seats": {"12a": {"id": "12a"}},
    }


def test_big_answers_a_json_body_of_the_asked_size(client: httpx.Client) -> None:
    response = client.get("/_big", params={"bytes": 2 * 1024 * 1024})
    assert len(response.content) == 2 * 1024 * 1024
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"data"}


def test_big_rejects_a_size_that_is_not_a_number(client: httpx.Client) -> None:
    assert client.get("/_big", params={"bytes": "lots"}).status_code == 400


def test_a_chunked_body_is_refused(client: httpx.Client) -> None:
    response = client.post("/r", content=iter([b'{"a":', b"1}"]))
    assert response.status_code == 411
