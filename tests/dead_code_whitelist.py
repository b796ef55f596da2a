"""Names vulture may not count as dead in product code, each with why: code that something other
than our own Python calls or reads (LEAN, the standard library's servers, Python itself), and
record fields written to state or report files rather than read back by name.  Keep it short: a
name belongs here only when no caller in this repository can exist."""

ALLOWED = {
    # LEAN calls these on the algorithm (QCAlgorithm callbacks and the margin-call model hook).
    "on_warmup_finished": "LEAN callback (main.py)",
    "on_assignment_order_event": "LEAN callback (main.py)",
    "generated_margin_call_orders": "LEAN's DefaultMarginCallModel.execute_margin_call parameter",
    # The standard library calls or reads these on our socketserver / http.server subclasses.
    "request_queue_size": "socketserver.TCPServer listen backlog (monitoring/health.py)",
    "address_family": "socketserver.TCPServer socket family (monitoring/health.py)",
    "process_request": "socketserver.BaseServer hook (monitoring/health.py)",
    "handle_error": "socketserver.BaseServer hook (monitoring/health.py)",
    "do_GET": "http.server.BaseHTTPRequestHandler dispatch (monitoring/health.py)",
    "log_message": "http.server.BaseHTTPRequestHandler hook (monitoring/health.py)",
    # Python's protocols.
    "__getattr__": "module-level attribute hook, PEP 562 (sim/markets/lean_data.py)",
    "tb": "context-manager __exit__ parameter (lean_adapter/gate.py)",
    # Record fields serialised to state, run files or reports (dataclasses.asdict / to_plain), read
    # there by people and the auditor, not by attribute name in our code.
    "created": "OrderIntent / group record creation time, persisted",
    "outcome_message": "execution group record: why it ended, persisted",
    "daily_pnl": "performance and report records, written to the report",
    "last_message_age_s": "feed status record, served by the health endpoint",
    "next_retry_s": "feed status record, served by the health endpoint",
    "settlement_price": "sim settlement record, written to the run's events",
    "split_factor": "LEAN factor-file row (a column of LEAN's format)",
    "iwm": "synthetic market path (drawn with the others so every seed keeps its paths)",
}
