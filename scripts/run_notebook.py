"""Executes a notebook headless with a Jupyter kernel and writes the executed notebook (and optionally HTML).

    /usr/bin/python3 scripts/run_notebook.py IN.ipynb OUT.ipynb [--html OUT.html] [--kernel ur4rec] [--timeout S]

The kernel inherits this process's environment (so UR4REC_* parameters reach the notebook) and runs in the
notebook's directory. Exit status: 0 when every cell ran, 1 on a cell error, timeout or dead kernel (the failing
cell and its traceback are printed, and the partly executed notebook is still written), 2 on bad arguments.

The Deno kernel (2.9) sometimes publishes a cell's `status: idle` before that cell's last outputs. Stock nbclient
stops listening at idle and silently drops them. RobustNotebookClient routes every IOPub message to the cell whose
request it answers (by parent msg_id), so late outputs land in the right cell while later cells run, and drains
late messages for DRAIN_S seconds after the last cell (or a failing cell) before the kernel is shut down.
"""

import argparse
import asyncio
import os
import queue
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert import HTMLExporter

DRAIN_S = 0.5


class RobustNotebookClient(NotebookClient):
    """NotebookClient that keeps outputs arriving after their cell's idle status (see module doc)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routes = {}  # request msg_id -> (cell, cell_index)
        self.failed_cell_index = None

    def _route(self, msg):
        """Adds an IOPub message to its cell; returns the request msg_id when it completed that request."""
        parent = msg["parent_header"].get("msg_id")
        if parent not in self.routes:
            return None
        cell, index = self.routes[parent]
        try:
            self.process_message(msg, cell, index)
        except CellExecutionComplete:
            return parent
        return None

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.routes[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if self._route(msg) == parent_msg_id:
                return

    async def _drain(self):
        """Routes late IOPub messages until none has come for DRAIN_S seconds."""
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=DRAIN_S))
            except (queue.Empty, asyncio.TimeoutError):
                return
            self._route(msg)

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        try:
            result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        except Exception:
            self.failed_cell_index = cell_index
            await self._drain()
            raise
        last_code = max(i for i, c in enumerate(self.nb.cells) if c.cell_type == "code")
        if cell_index == last_code:
            await self._drain()
        return result


def write_atomic(path, text):
    """Writes text to path through a temp file and a rename."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="notebook to execute")
    parser.add_argument("output", help="where to write the executed notebook")
    parser.add_argument("--html", help="also write an HTML rendering here")
    parser.add_argument("--kernel", default="ur4rec", help="kernelspec name (default: ur4rec)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default: 600)")
    args = parser.parse_args()

    nb = nbformat.read(args.input, as_version=4)
    client = RobustNotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.input))}},
    )
    failure = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        failure = err

    write_atomic(args.output, nbformat.writes(nb))
    if args.html:
        body, _ = HTMLExporter().from_notebook_node(nb)
        write_atomic(args.html, body)
    if failure is not None:
        index = client.failed_cell_index
        where = "before any cell ran" if index is None else f"cell {index + 1} of {len(nb.cells)} failed"
        print(f"{args.input}: {where} ({type(failure).__name__}):\n{failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    main()
