import { describe, expect, it } from "vitest";
import { fetchCode, PUBLISH_HINT, pyString, ticketExpr } from "../src/snippets";

describe("fetchCode", () => {
  it("fetches a named table", () => {
    expect(fetchCode({ name: "sales", ticket: "sales", type: "Table" })).toBe(
      'import ticketbooth as tb\ns = tb.Session()\nt = s.fetch_table("sales")',
    );
  });
  it("fetches a figure with fetch_object", () => {
    expect(fetchCode({ name: "chart", ticket: "chart", type: "Figure" })).toBe(
      'import ticketbooth as tb\ns = tb.Session()\nfig = s.fetch_object("chart")',
    );
  });
  it("rebuilds a shared ticket from its text", () => {
    expect(fetchCode({ name: "", ticket: "shared:3f2a", type: "Table" })).toBe(
      'import ticketbooth as tb\ns = tb.Session()\nt = s.fetch_table(tb.SharedTicket.from_str("shared:3f2a"))',
    );
  });
  it("quotes names so the code stays valid Python", () => {
    expect(pyString('a "b"\\c\n')).toBe('"a \\"b\\"\\\\c\\n"');
    expect(ticketExpr({ name: 'x"y', ticket: 'x"y' })).toBe('"x\\"y"');
  });
  it("tells how to publish", () => {
    expect(PUBLISH_HINT).toContain('s.publish_table(df, "sales")');
  });
});
