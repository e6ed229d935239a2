// An object as the server lists it (`GET objects`, docs/server.md), the status and the change
// events: one definition each, shared with the widget's HTTP source (../js/src).
export type { ListedObject as Obj, ServerStatus as Status } from "../../js/src/http";
export type { ServerEvent as ChangeEvent } from "../../js/src/serverevents";
import type { ListedObject as Obj } from "../../js/src/http";

export function isTable(obj: Pick<Obj, "type">): boolean {
  return obj.type === "Table";
}

/** What the list shows as the object's title: its scope name or its ticket. */
export function title(obj: Pick<Obj, "name" | "ticket">): string {
  return obj.name || obj.ticket;
}
