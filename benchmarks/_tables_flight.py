"""pyarrow's own C++ Arrow Flight server and a stock FlightClient, for bench_tables.py: the
peer that ticketbooth's remote path is compared with, over grpc+tcp or grpc+tls.

    server  ``FlightServerBase`` in a process of its own, holding the benchmark table
            (built there, one record batch); ``do_get`` returns
            ``flight.RecordBatchStream(table)``; ``do_put`` reads the whole stream
            (``read_all``) and answers with its row count as put metadata
    client  (a fresh process per run) ``flight.connect`` and one ``list_actions`` call, so
            the channel (and TLS handshake) is up before the clock starts; then times
            get: ``do_get(ticket).read_all()``
            put: ``do_put`` + ``write_table`` + ``done_writing`` + the server's answer
                 (the table is built in the client before the clock starts)

With ``batch_rows`` (--flight-batch-rows) both ends send the table as record batches of at
most that many rows (zero-copy slices) instead of the table's own single batch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
from _tables_data import make_table
from _tables_procs import HOST, clock_starts, emit, exit_when_stdin_closes, run_role


def location(cfg: dict[str, Any], port: int) -> str:
    return f"grpc+{'tls' if cfg.get('cert') else 'tcp'}://{HOST}:{port}"


class Server(fl.FlightServerBase):  # type: ignore[misc]
    def __init__(self, table: pa.Table, cfg: dict[str, Any]) -> None:
        kw = {}
        if cfg.get("cert"):
            pair = fl.CertKeyPair(
                cert=Path(cfg["cert"]).read_bytes(), key=Path(cfg["key"]).read_bytes()
            )
            kw["tls_certificates"] = [pair]
        super().__init__(location(cfg, 0), **kw)  # listening from here on
        self.table = table

    def list_actions(self, context: Any) -> list[Any]:
        return []

    def do_get(self, context: Any, ticket: fl.Ticket) -> fl.RecordBatchStream:
        return fl.RecordBatchStream(self.table)

    def do_put(self, context: Any, descriptor: Any, reader: Any, writer: Any) -> None:
        got = reader.read_all()
        writer.write(pa.py_buffer(json.dumps({"rows": got.num_rows}).encode()))


def serve(cfg: dict[str, Any]) -> None:
    table = make_table(cfg["rows"])
    if cfg.get("batch_rows"):
        table = pa.Table.from_batches(table.to_batches(max_chunksize=cfg["batch_rows"]))
    server = Server(table, cfg)
    emit(port=server.port)
    exit_when_stdin_closes()  # no serve() needed: it serves from its constructor on


def client(cfg: dict[str, Any]) -> None:
    kw = {"tls_root_certs": Path(cfg["cert"]).read_bytes()} if cfg.get("cert") else {}
    conn = fl.connect(location(cfg, cfg["port"]), **kw)
    list(conn.list_actions())  # connected (and handshaken) before the clock starts
    if cfg["mode"] == "get":
        t0 = clock_starts()
        data = conn.do_get(fl.Ticket(b"bench")).read_all()
        seconds = time.perf_counter() - t0
        total = pc.sum(data.column("id")).as_py()
        emit(seconds=seconds, rows=data.num_rows, sum=total, batches=len(data.to_batches()))
        return
    table = make_table(cfg["rows"])
    t0 = clock_starts()
    writer, answers = conn.do_put(fl.FlightDescriptor.for_path("bench"), table.schema)
    writer.write_table(table, max_chunksize=cfg.get("batch_rows"))
    writer.done_writing()
    answer = answers.read()
    writer.close()
    seconds = time.perf_counter() - t0
    emit(seconds=seconds, rows=json.loads(answer.to_pybytes())["rows"])


if __name__ == "__main__":
    run_role(serve, client)
