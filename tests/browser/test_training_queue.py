"""Five sessions press a train button at once: they take turns, and every one finishes."""

import re

from tests.helpers import training_sessions as sessions
from tests.helpers.served_app import serve

SESSIONS = 5


def test_five_sessions_training_at_once_take_turns_and_all_finish(browser):
    with serve(env={"MML7_TRAINING_SLOTS": "1"}) as (base, process):
        tabs = sessions.open_sessions(browser, base, SESSIONS)
        seen = sessions.train_at_once(tabs, timeout=180)
        texts = [tab.locator('[data-testid="stMain"]').inner_text() for tab in tabs]
        assert process.poll() is None
    assert seen["exceptions"] == []
    assert seen["finished"] == set(range(SESSIONS))
    assert all(
        sessions.JOBS["linear"].done in text and sessions.WAITING not in text for text in texts
    )
    messages = set().union(*seen["waiting"].values())
    assert messages, "no session showed the waiting message while another trained"
    ahead = {int(re.search(r"(\d+) jobs? ahead", line).group(1)) for line in messages}
    assert ahead <= set(range(1, SESSIONS))  # never more jobs ahead than the other sessions
