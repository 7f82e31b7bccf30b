"""Start a server from a JSON configuration, for what the CLI does not offer (on purpose): tiny
generated models, and the URL fetcher's test endpoints (a loopback image server the checks would
refuse). Tests only: ``python _launch.py '{"port": 7000, "tiny": {"batch": "N"}, ...}'``.

Keys: ``port``; ``tiny`` (generated segmenters: ``{"batch": 1 | "N", "name": ...}`` or a list of them) or
``models`` (names); ``url_test_endpoints`` ([[address, port], ...]); any other key is a
:class:`alphacut.server.ServerConfig` field.
"""

import json
import logging
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pipeline"))

import tiny_models as tm  # noqa: E402

from alphacut.cli.serve import serve  # noqa: E402
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec  # noqa: E402
from alphacut.server import ServerConfig  # noqa: E402


def main() -> int:
    cfg = json.loads(sys.argv[1])
    tiny = cfg.pop("tiny", None)
    endpoints = cfg.pop("url_test_endpoints", [])
    if tiny is not None:
        cfg["models"], cfg["model_paths"] = [], {}
        for spec in tiny if isinstance(tiny, list) else [tiny]:
            name = spec.get("name", "tiny")
            path = tm.segmenter(Path(tempfile.mkdtemp()) / f"{name}.onnx", size=(64, 64), batch=spec.get("batch", 1))
            cfg["models"].append(
                ModelManifest(
                    name=name,
                    kind="segmenter",
                    file=str(path),
                    input=InputSpec(name="input", size=(64, 64)),
                    output=OutputSpec(channel=1, activation="softmax"),
                )
            )
            cfg["model_paths"][name] = str(path)
    cfg["models"] = tuple(cfg.get("models", ("u2netp",)))
    if "cors" in cfg:
        cfg["cors"] = tuple(cfg["cors"])
    config = ServerConfig(**cfg, _url_test_endpoints=frozenset((a, int(p)) for a, p in endpoints))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
