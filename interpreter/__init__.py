"""The saga runtime on Temporal. Importing this package imports nothing heavy.

contract.py    the wire types the workflow, activity, worker and clients agree on
exit_codes.py  the `saga` command's exit codes
workflow/      the sandboxed workflow and everything it imports
worker/        the worker and the HTTP activity (outside the sandbox)
client/        connect to Temporal; start, follow, cancel and resume sagas
cli/           the `saga` command, one module per group of commands
dev/           dev server, demo services, quick start (not part of the runtime)
"""
