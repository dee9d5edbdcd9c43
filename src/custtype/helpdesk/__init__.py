"""The loop with the helpdesk: predictions remembered, agents' verdicts, webhook tickets,
the quality report. Built on `Assistant` (what is shown) and `store` (what is kept)."""
