"""The report's first screen without annotations."""

from datetime import datetime

import pandas as pd

from tests.report.test_rootcause import _data
from toolkit.report import build


def test_the_header_hints_the_highest_alert_severity():
    """No severity in the annotations: the header names the highest alert severity reached
    (page outranks ticket), and says 'not set' when there was no incident."""
    data = _data([])
    data.incidents = pd.DataFrame({
        "incident": ["i1", "i2"], "rule": ["r", "r"], "severity": ["page", "ticket"],
        "status": ["resolved", "firing"], "opened_at": [datetime(2024, 5, 1, 9, 1)] * 2,
        "resolved_at": [datetime(2024, 5, 1, 9, 30), None], "environments": [["a"], ["b"]],
        "notifications": [2, 1], "pages": [1, 0], "summary": ["s", "s"]})
    header = dict(build(data).header)
    assert header["Severity"] == "not set (highest alert: page)"
    assert header["Status"] == "Draft" and header["Authors"] == "not set"
    data.incidents = data.incidents.iloc[:0]
    assert dict(build(data).header)["Severity"] == "not set"
