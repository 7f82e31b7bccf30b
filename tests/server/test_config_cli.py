"""ServerConfig's checks, and ``alphacut serve`` failing early with one line (no traceback) on
what a user can fix: an unknown model, an unreadable key file, a bad setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from server_harness import REPO

import alphacut
from alphacut.server import ServerConfig


@pytest.mark.parametrize("kwargs,match", [
    ({"models": ()}, "at least one model"), ({"models": ("u2netp", "u2netp")}, "named twice"),
    ({"workers": 0}, "workers"), ({"max_batch": 0}, "max_batch"), ({"queue": -1}, "queue"),
    ({"timeout_s": 0}, "timeout_s"), ({"max_upload_mb": -1}, "max_upload_mb"), ({"port": 70000}, "port"),
    ({"log_level": "loud"}, "log_level"), ({"max_pixels": 0}, "max_pixels"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(alphacut.InputError, match=match):
        ServerConfig(**kwargs)


def test_defaults_and_derived_limits(tmp_path):
    c = ServerConfig()
    assert (c.host, c.port, c.models, c.allow_url, c.cors, c.api_key_file) == ("127.0.0.1", 7000, ("u2netp",), False,
                                                                              (), None)
    assert c.capacity == c.workers * c.max_batch + c.queue
    assert c.max_body_bytes > c.max_upload_bytes * 4 // 3  # a base64 upload fits
    assert ServerConfig(cors="https://a.example, https://b.example").cors == ("https://a.example", "https://b.example")
    keys = tmp_path / "keys"
    keys.write_text("# comment\n\nkey-one\n  key-two  \n")
    assert ServerConfig(api_key_file=str(keys)).api_keys() == [b"key-one", b"key-two"]
    keys.write_text("# only a comment\n")
    with pytest.raises(alphacut.InputError, match="holds no key"):
        ServerConfig(api_key_file=str(keys)).api_keys()
    with pytest.raises(alphacut.InputError, match="cannot read"):
        ServerConfig(api_key_file=str(tmp_path / "absent")).api_keys()


def _serve(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), ALPHACUT_MODEL_DIR="", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "alphacut", "serve", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args,match", [
    (["--models", "definitely-not-a-model"], "definitely-not-a-model"),
    (["--workers", "0"], "workers must be"),
    (["--api-key-file", "/nonexistent/keys.txt"], "api_key_file: cannot read"),
])
def test_cli_errors_are_one_line(tmp_path, args, match):
    r = _serve(*args, "--port", "0", env_extra={"ALPHACUT_HOME": str(tmp_path), "REMBG_HOME": str(tmp_path)})
    assert r.returncode == 1, r.stderr
    assert match in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("alphacut: error:")
