// A minimal Arrow Flight client (DoGet) in Node. Arrow JS has no Flight client (and none turned
// up on npm), so this is @grpc/grpc-js + Flight.proto + apache-arrow's IPC reader.
//
//   TICKETBOOTH_TOKEN=... node fetch.mjs ADDRESS TICKET
//
// ADDRESS: host:port, grpc://host:port, grpc+tcp://host:port, grpc+tls://host:port (a
//   self-signed certificate: its PEM file in $TICKETBOOTH_TLS_ROOT_CERTS), or the broker's
//   unix socket as grpc+unix:///path/broker.sock, unix:///path/broker.sock or /path/broker.sock.
// TICKET: a table name (sent as b"s/" + name) or shared:<32 hex digits> (b"h" + 16 bytes).
//
// Prints {rows, batches, schema, columns} as JSON. Values are exact: int64 and timestamps as
// decimal strings (timestamps in their unit), NaN and infinities as strings, nulls as null.
// A failed call prints "CODE: details" on stderr and exits with 1.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Type, tableFromIPC } from "apache-arrow";

const CONTINUATION = 0xffffffff;

function parseAddress(address) {
  const m = /^([a-z+]+):\/\/(.*)$/.exec(address);
  const [scheme, rest] = m ? [m[1], m[2]] : [address.startsWith("/") ? "unix" : "grpc", address];
  if (scheme === "grpc+unix" || scheme === "unix") {
    return { target: `unix://${rest.startsWith("/") ? "" : "/"}${rest}`, creds: insecure() };
  }
  if (scheme === "grpc+tls" || scheme === "grpcs") {
    const roots = process.env.TICKETBOOTH_TLS_ROOT_CERTS;
    return { target: rest, creds: grpc.credentials.createSsl(roots ? readFileSync(roots) : null) };
  }
  if (scheme === "grpc" || scheme === "grpc+tcp") return { target: rest, creds: insecure() };
  throw new Error(`unsupported address ${address}`);
}

function insecure() {
  return grpc.credentials.createInsecure();
}

function ticketBytes(text) {
  if (!text.startsWith("shared:")) return Buffer.from(`s/${text}`, "utf8");
  const hex = text.slice("shared:".length);
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`malformed shared ticket ${text}`);
  return Buffer.concat([Buffer.from("h"), Buffer.from(hex, "hex")]);
}

// One FlightData as an Arrow IPC stream message: continuation marker, int32 LE length of the
// metadata padded to 8 bytes, the metadata (data_header), padding, the body (data_body).
function ipcMessage({ data_header: header, data_body: body }) {
  const padded = (header.length + 7) & ~7;
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32LE(CONTINUATION, 0);
  prefix.writeInt32LE(padded, 4);
  return [prefix, header, Buffer.alloc(padded - header.length), body];
}

function doGet(address, ticket, token) {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const definition = protoLoader.loadSync("flight.proto", {
    includeDirs: [here],
    keepCase: true,
    defaults: true, // an empty data_body (the schema message) as an empty Buffer
  });
  const { FlightService } = grpc.loadPackageDefinition(definition).arrow.flight.protocol;
  const { target, creds } = parseAddress(address);
  // grpc-js keeps its default 4 MiB limit on a received message (as grpc-go does): the broker
  // sends messages under it
  const client = new FlightService(target, creds);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const parts = [];
  return new Promise((resolve, reject) => {
    const call = client.DoGet({ ticket }, metadata);
    call.on("data", (data) => {
      if (data.data_header.length > 0) parts.push(...ipcMessage(data));
    });
    call.on("error", (err) => {
      client.close();
      reject(err);
    });
    call.on("end", () => {
      client.close();
      const end = Buffer.alloc(8);
      end.writeUInt32LE(CONTINUATION, 0); // end of stream: continuation + length 0
      resolve(Buffer.concat([...parts, end]));
    });
  });
}

function jsonValue(value) {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

// Every value of a column; a timestamp as its raw int64 (get() gives lossy float milliseconds).
function columnValues(vector) {
  if (vector.type.typeId !== Type.Timestamp) return Array.from(vector, jsonValue);
  return vector.data.flatMap((chunk) =>
    Array.from({ length: chunk.length }, (_, i) =>
      chunk.getValid(i) ? chunk.values[i].toString() : null,
    ),
  );
}

async function main() {
  const [address, ticketText] = process.argv.slice(2);
  const token = process.env.TICKETBOOTH_TOKEN;
  if (!address || !ticketText || token === undefined) {
    console.error("usage: TICKETBOOTH_TOKEN=... node fetch.mjs ADDRESS TICKET");
    process.exit(2);
  }
  let stream;
  try {
    stream = await doGet(address, ticketBytes(ticketText), token);
  } catch (err) {
    const code = err.code !== undefined ? grpc.status[err.code] : "ERROR";
    console.error(`${code}: ${err.details ?? err.message}`);
    process.exit(1);
  }
  const table = tableFromIPC(stream);
  const fields = table.schema.fields;
  console.log(
    JSON.stringify({
      rows: table.numRows,
      batches: table.batches.length,
      schema: fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable })),
      columns: Object.fromEntries(fields.map((f) => [f.name, columnValues(table.getChild(f.name))])),
    }),
  );
}

await main();
