"""Unmodified pydeephaven clients against the broker's Deephaven front end
(``ticketbooth serve --deephaven-port``), over the same objects as ticketbooth's Session."""
