"""run_orchestrator."""
