"""Prometheus metrics of one server (its own registry, so several apps can live in one process).

=================================  ==========================================================
``alphacut_requests_total``        requests by route and HTTP status
``alphacut_request_seconds``       request latency by route (histogram)
``alphacut_stage_seconds``         pipeline stage latency by stage (decode, segment, ...)
``alphacut_queue_depth``           images waiting for the network, by model
``alphacut_requests_in_flight``    cutout requests held (processed or waiting)
``alphacut_batch_size``            images per batch formed for the network, by model
``alphacut_errors_total``          error answers by route and code
``alphacut_bytes_total``           request and response bytes (direction="in"/"out")
``alphacut_memory_reserved_bytes`` memory the requests in flight hold, estimated from headers
``alphacut_memory_budget_bytes``   the budget they share (``--max-memory-mb``)
``alphacut_engine``                1 per loaded model, labelled with its runtime, its backend and
                                   the replica (Ray Serve) that answers
=================================  ==========================================================
"""

from __future__ import annotations

from typing import Dict, Tuple

__all__ = ["Metrics"]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH = tuple(range(1, 17)) + (24, 32, 48, 64)  # every size up to 16 exactly


class Metrics:
    """The server's counters, gauges and histograms, and their Prometheus text (:meth:`render`)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "alphacut_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "alphacut_request_seconds", "Request latency by route", ["route"], buckets=_LATENCY, registry=r
        )
        self.stage_seconds = Histogram(
            "alphacut_stage_seconds", "Pipeline stage latency", ["stage"], buckets=_LATENCY, registry=r
        )
        self.queue_depth = Gauge("alphacut_queue_depth", "Images waiting for the network", ["model"], registry=r)
        self.in_flight = Gauge("alphacut_requests_in_flight", "Cutout requests held (processed or waiting)", registry=r)
        self.batch_size = Histogram(
            "alphacut_batch_size", "Images per batch formed for the network", ["model"], buckets=_BATCH, registry=r
        )
        self.errors = Counter("alphacut_errors", "Error answers by route and code", ["route", "code"], registry=r)
        self.bytes = Counter("alphacut_bytes", "Request and response body bytes", ["direction"], registry=r)
        self.memory_reserved = Gauge(
            "alphacut_memory_reserved_bytes", "Memory the requests in flight hold (estimated)", registry=r
        )
        self.memory_budget = Gauge("alphacut_memory_budget_bytes", "Memory the requests in flight share", registry=r)
        self.engine = Gauge(
            "alphacut_engine",
            "1 per loaded model: the runtime of its network, the backend of its kernels, the replica serving it",
            ["model", "runtime", "backend", "replica"],
            registry=r,
        )

    def observe_request(self, route: str, status: int, seconds: float, bytes_in: int, bytes_out: int) -> None:
        self.requests.labels(route, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)
        self.bytes.labels("in").inc(bytes_in)
        self.bytes.labels("out").inc(bytes_out)

    def observe_stages(self, timings_ms: Dict[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.stage_seconds.labels(stage).observe(ms / 1000.0)

    def render(self) -> Tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
