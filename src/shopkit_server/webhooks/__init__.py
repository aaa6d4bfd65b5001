"""Order events delivered to admins' endpoints as signed webhooks (outbox + dispatcher)."""
