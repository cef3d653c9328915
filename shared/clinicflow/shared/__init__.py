"""clinicflow's shared platform: event contracts and the plumbing every service stands on (no clinical rules)."""
