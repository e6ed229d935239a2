// What a kernel-less viewer (e.g. a JupyterLab side panel) needs from the ticketbooth
// server extension, free of the widget model: import from "ticketbooth js/src/server".
export {
  apiUrl, HttpDataSource, HttpError, jupyterBaseUrl, jupyterToken, objectInfo, probeServer,
  type FetchLike, type HttpOptions, type HttpSourceOptions, type HttpViewState, type HttpWindow,
  type ListedObject, type ObjectInfo, type ServerStatus,
} from "./http";
export { events, type EventSourceFactory, type EventSourceLike, type EventsOptions, type ServerEvent } from "./serverevents";
export { FallbackDataSource, type FallbackOptions } from "./fallback";
export type { DataSource, RendererName } from "./datasource";
export { isStaleError, StaleResponseError } from "./datasource";
