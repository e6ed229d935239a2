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
        status, out, errors = self._execute(code, timeout)
        assert status == "ok", errors
        return out

    def run_failing(self, code: str, timeout: float = 60) -> str:
        """Execute `code`, which must fail; return its traceback (and stderr) text."""
        status, _, errors = self._execute(code, timeout)
        assert status == "error", f"expected an error from {code!r}"
        return errors

    def _execute(self, code: str, timeout: float) -> tuple[str, str, str]:
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "stream":  # IPython prints a UsageError to stderr, no traceback
                errors.append(content["text"])
            elif kind in ("display_data", "execute_result"):
                self.displays.append(content["data"])
            elif kind == "error":
                errors.append("\n".join(content["traceback"]))

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=timeout)
        return reply["content"]["status"], "".join(out), "\n".join(errors)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
