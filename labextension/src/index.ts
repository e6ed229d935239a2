// The JupyterLab plugin: the "Tickets" side panel and the command that opens an object.
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from "@jupyterlab/application";
import { Api } from "./api";
import { ChangeFeed } from "./feed";
import type { Obj } from "./objects";
import { TicketsPanel } from "./panel";
import { ObjectViewer, viewerId } from "./viewer";

const OPEN = "ticketbooth:open";

const plugin: JupyterFrontEndPlugin<void> = {
  id: "ticketbooth:panel",
  description: "Lists the ticketbooth broker's tables and figures and opens them without a kernel.",
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const api = new Api(app.serviceManager.serverSettings);
    const feed = new ChangeFeed();
    const viewers = new Map<string, ObjectViewer>();

    app.commands.addCommand(OPEN, {
      label: "Open Ticket",
      caption: "Open a published table or figure (args: the object as the server lists it)",
      execute: (args) => {
        const obj = args as unknown as Obj;
        let viewer = viewers.get(obj.ticket);
        if (!viewer || viewer.isDisposed) {
          viewer = new ObjectViewer(api, feed, obj);
          viewers.set(obj.ticket, viewer);
          viewer.disposed.connect(() => viewers.get(obj.ticket) === viewer && viewers.delete(obj.ticket));
          app.shell.add(viewer, "main");
        }
        app.shell.activateById(viewerId(obj.ticket));
      },
    });

    const panel = new TicketsPanel({
      api,
      feed,
      open: (obj) => void app.commands.execute(OPEN, { ...obj }),
    });
    app.shell.add(panel, "left", { rank: 700 });
    restorer?.add(panel, panel.id);
  },
};

export default plugin;
