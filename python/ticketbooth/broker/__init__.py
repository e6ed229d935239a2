"""The ticketbooth broker: a gRPC server holding objects by ticket."""

from ._server import Broker, BrokerConfig, run
from ._store import BrokerError, Store

__all__ = ["Broker", "BrokerConfig", "BrokerError", "Store", "run"]
