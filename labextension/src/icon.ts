// The side bar's icon: a ticket.
import { LabIcon } from "@jupyterlab/ui-components";

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<path class="jp-icon3" fill="#616161" d="M4 5h16a1 1 0 0 1 1 1v3.2a2.8 2.8 0 0 0 0 5.6V18a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-3.2a2.8 2.8 0 0 0 0-5.6V6a1 1 0 0 1 1-1zm5 2v2h2V7H9zm0 4v2h2v-2H9zm0 4v2h2v-2H9z"/>
</svg>`;

export const ticketIcon = new LabIcon({ name: "ticketbooth:ticket", svgstr });
