"""seed-demo's story: people, campaigns and a simulated history."""

from app.drip.demo.seed import seed_demo_data

__all__ = ["seed_demo_data"]
