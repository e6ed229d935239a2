"""Real Jupyter kernels for integration tests (jupyter_client + ipykernel)."""

from __future__ import annotations

from typing import Any

from jupyter_client.manager import start_new_kernel


class Kernel:
    def __init__(self, env: dict[str, str]) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3", env=env)
        self.displays: list[dict[str, Any]] = []

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute `code`; return its stdout (display_data goes to `displays`)."""
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind in ("display_data", "execute_result"):
                self.displays.append(content["data"])
            elif kind == "error":
                errors.append("\n".join(content["traceback"]))

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=timeout)
        assert reply["content"]["status"] == "ok", "\n".join(errors)
        return "".join(out)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
