"""clinicflow intake service: Enquiries, identifiable details, call-backs, funding, assessment booking and erasure."""
