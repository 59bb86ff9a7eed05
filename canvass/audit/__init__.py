"""The audit log. Public: `services.record_audit_event` (every area records what a person did),
`models.AuditEvent`. Below every area that records events; imports only the foundation."""
