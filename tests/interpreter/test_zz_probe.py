from conftest import Runtime, saga
from interpreter.demo import DemoService

async def test_probe(runtime: Runtime, services) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=503, times=2)
    await runtime.run(saga([{"name": "call", "action": {"url": f"{svc.url}/charges", "method": "POST"}, "compensation": "none"}]))
    t = [r.time for r in svc.requests]
    print("GAPS", [round(b - a, 3) for a, b in zip(t, t[1:])])
