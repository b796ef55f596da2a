"""Post-run analysis: the HTML report and the rule auditor, reading a run's output files only."""
