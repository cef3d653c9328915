"""clinicflow notifications service: Routing, channels, staff inbox, alert escalation and delivery audit."""
