"""What the test files share: the command-line binary and running it."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def cli():
    """The `ccrnn` binary: $CCRNN_BIN, else the workspace's release build."""
    path = pathlib.Path(os.environ.get("CCRNN_BIN", ROOT / "target" / "release" / "ccrnn"))
    if not path.is_file():
        if os.environ.get("CCRNN_REQUIRE_CLI"):
            pytest.fail(f"{path} not found (CCRNN_REQUIRE_CLI is set)")
        pytest.skip(f"{path} not found: build it with `cargo build --release` or set CCRNN_BIN")
    return str(path)


def run(*args, cwd):
    """Runs `ccrnn ARGS` in `cwd`, asserting success; its stdout."""
    out = subprocess.run([cli(), *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def fails(*args, cwd):
    """Runs `ccrnn ARGS` in `cwd`, asserting a clean failure (exit code 1..2, an `error:`
    message, no panic); its stderr."""
    out = subprocess.run([cli(), *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode in (1, 2), (out.returncode, out.stderr)
    assert "panicked" not in out.stderr and "error" in out.stderr, out.stderr
    return out.stderr
