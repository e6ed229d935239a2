// "Copy code to fetch": the Python that fetches an object in a notebook.
import { isTable, type Obj } from "./objects";

/** A Python string literal (JSON's escapes are valid Python). */
export function pyString(text: string): string {
  return JSON.stringify(text);
}

/** The ticket as Python: the scope name, or `tb.SharedTicket.from_str("shared:...")`. */
export function ticketExpr(obj: Pick<Obj, "name" | "ticket">): string {
  if (obj.name) return pyString(obj.name);
  return `tb.SharedTicket.from_str(${pyString(obj.ticket)})`;
}

export function fetchCode(obj: Pick<Obj, "name" | "ticket" | "type">): string {
  const call = isTable(obj) ? `t = s.fetch_table(${ticketExpr(obj)})` : `fig = s.fetch_object(${ticketExpr(obj)})`;
  return `import ticketbooth as tb\ns = tb.Session()\n${call}`;
}

/** What the empty list tells the user to do. */
export const PUBLISH_HINT = 'import ticketbooth as tb\ns = tb.Session()\ns.publish_table(df, "sales")';
