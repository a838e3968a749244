"""The plotting helper: one panel per environment, event spans shaded."""

import numpy as np
import pytest

from tests.detect.conftest import burst, minute, rollup
from toolkit.detect import Event
from toolkit.detect.plot import plot_dedup_ratio
from toolkit.errors import BadInput

M = 120


def data():
    return rollup({"acme-prod": {"offered": 10, "deduplicated": burst(M, 50, 59, 5)},
                   "globex-prod": {"offered": 10}}, M)


def test_panels_and_shaded_events():
    """A panel per environment asked for; each event on it is one shaded span, colour by
    severity; the ratio line is percent over the trailing window."""
    events = [Event("acme-prod", minute(51), minute(68), 9.0, "tail", "x", "page"),
              Event("acme-prod", minute(90), minute(95), 2.0, "tail", "y", "ticket"),
              Event("globex-prod", minute(10), minute(12), 2.0, "peers", "z", "ticket")]
    fig = plot_dedup_ratio(data(), ["acme-prod"], events, window=10)
    (ax,) = fig.axes
    assert ax.get_title(loc="left") == "acme-prod"
    assert len(ax.patches) == 2
    line = ax.get_lines()[0].get_ydata()
    assert np.nanmax(line) == pytest.approx(50.0)


def test_default_panels_are_the_flagged_environments():
    """Without a list, the environments with events are drawn."""
    events = [Event("globex-prod", minute(10), minute(12), 2.0, "peers", "z")]
    fig = plot_dedup_ratio(data(), events=events)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["globex-prod"]


def test_empty_range_is_bad_input():
    """A time range outside the frame is reported, not drawn empty."""
    with pytest.raises(BadInput, match="time range"):
        plot_dedup_ratio(data(), ["acme-prod"], since=minute(500))
