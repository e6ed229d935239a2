import ticketbooth as tb
from tests.conftest import BrokerProcess


def test_session_finds_broker(broker: BrokerProcess) -> None:
    with tb.Session() as s:
        assert s.endpoint.url == broker.url
        assert s.same_host
        assert s.backend == "broker"
        assert (s.features.history, s.features.live, s.features.plugins) == (True, "every", True)
