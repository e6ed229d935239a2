__version__ = "0.1.0"

#: Wire protocol revision: a client and a broker with different revisions refuse each other
#: with a message naming both versions (2: sessions attach; brokers have an id; 3: tables in parts).
PROTOCOL = 3
