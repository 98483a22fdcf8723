"""Auto-sync: runs when the network comes back, then every interval while it stays up."""
from mobile.sync import AutoSync, SyncReport


class FakeClient:
    def __init__(self):
        self.runs = 0

    def sync(self):
        self.runs += 1
        return SyncReport()


def test_syncs_when_the_network_returns_and_on_the_interval():
    net = {"up": False}
    client = FakeClient()
    auto = AutoSync(client, interval_s=300, probe=lambda: net["up"])
    last = auto.step(0, None)
    assert client.runs == 0 and last is None  # offline: nothing
    net["up"] = True
    last = auto.step(10, last)
    assert client.runs == 1 and last == 10  # back online: sync at once
    last = auto.step(100, last)
    assert client.runs == 1  # still within the interval
    last = auto.step(320, last)
    assert client.runs == 2 and last == 320  # interval passed
    net["up"] = False
    last = auto.step(330, last)
    net["up"] = True
    auto.step(340, last)
    assert client.runs == 3  # came back again: sync at once, whatever the interval
