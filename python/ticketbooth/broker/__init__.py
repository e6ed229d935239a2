"""The ticketbooth broker: a gRPC server holding objects by ticket."""

from ._process import BrokerProcess, start_process
from ._refusals import BrokerError
from ._server import Broker, BrokerConfig, run
from ._store import Store

__all__ = [
    "Broker",
    "BrokerConfig",
    "BrokerError",
    "BrokerProcess",
    "Store",
    "run",
    "start_process",
]
