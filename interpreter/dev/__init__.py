"""Development tooling, not part of the runtime: the embedded Temporal dev server, the
demo HTTP services (also the tests' recording, fault-injecting services) and `saga demo`.

    devserver.py   `temporal server start-dev` from the pip-installed binary
    demo.py        DemoService: generic REST over memory, faults, a record of every request
    _demo_http.py  the demo service's insides (store, fault rules, HTTP transport)
    quickstart.py  `saga demo`: the quick start in one command
"""
