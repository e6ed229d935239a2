import { describe, expect, it } from "vitest";
import { Chrome, endStatus } from "../src/chrome";
import { FakeModel } from "./fakemodel";

describe("Chrome status pill", () => {
  it("shows the publisher's version, not the view's data version", () => {
    const model = new FakeModel({ kind: "table", version: 5, publisher_version: 2 });
    const host = document.createElement("div");
    const chrome = new Chrome(model, host);
    const pill = host.querySelector(".tb-pill")!;
    expect(pill.textContent).toContain("v2");
    model.set("publisher_version", 3);
    expect(pill.textContent).toContain("v3");
    model.set("version", 6); // a re-sort moves the data version only
    expect(pill.textContent).toContain("v3");
    chrome.destroy();
  });

  it("falls back to version when the kernel sends no publisher version", () => {
    const model = new FakeModel({ kind: "figure", version: 4 });
    const host = document.createElement("div");
    new Chrome(model, host);
    expect(host.querySelector(".tb-pill")!.textContent).toContain("v4");
  });

  it("shows a banner when the publisher is gone", () => {
    const model = new FakeModel({ kind: "table", version: 1 });
    const host = document.createElement("div");
    new Chrome(model, host);
    model.update({ status: "publisher-gone", status_message: "its session closed" });
    const banner = host.querySelector(".tb-banner")!;
    expect(banner.classList.contains("tb-show")).toBe(true);
    expect(banner.textContent).toContain("Publisher gone: its session closed");
  });
});

describe("endStatus (the panel's view of a ticket's end)", () => {
  it("words a publisher's end as the kernel's view does", () => {
    expect(endStatus("closed")).toEqual({
      status: "publisher-gone",
      status_message: "its session was closed; the view updates if the ticket is published again",
    });
    expect(endStatus("expired").status).toBe("publisher-gone");
    expect(endStatus("expired").status_message).toContain("stopped answering");
    expect(endStatus("released")).toEqual({
      status: "released",
      status_message: "the view updates if the ticket is published again",
    });
    expect(endStatus("").status).toBe("released");
  });
});
