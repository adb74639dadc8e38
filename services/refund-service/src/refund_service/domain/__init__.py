"""Pure refund rules: eligibility of a bounced reveal, name patterns, decisions, employer spikes."""
