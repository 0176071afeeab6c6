from collections.abc import Iterator

import httpx
import pytest

from interpreter.dev.demo import DemoService


@pytest.fixture
def service() -> Iterator[DemoService]:
    with DemoService("test") as svc:
        yield svc


@pytest.fixture
def client(service: DemoService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=5.0) as http:
        yield http
