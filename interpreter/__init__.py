"""The saga runtime on Temporal. Importing this package imports nothing heavy."""
