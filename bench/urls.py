"""The product's urls and, beside them, the benchmark's floor views (bench/floor.py)."""

from __future__ import annotations

from django.urls import path

from bench.floor import floor_queue
from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [path("bench/floor/queue/", floor_queue), *product_urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
