"""The saga language: models, loader, checks, expressions. Never imports temporalio."""
